/** Writes the minimal report index: `node --conditions=@quantbench/source --import tsx packages/bench/scripts/report-index.ts REPORTS_DIR OUT.html` */
import { writeReportIndex } from '../src/site-index.js';

const [reportsDir = 'reports', outFile = 'index.html'] = process.argv.slice(2);
const count = await writeReportIndex(reportsDir, outFile);
console.log(`${outFile}: ${count} runs`);
