/**
 * LiveCodeBench code-generation prompt, as lcb_runner/prompts/code_generation.py builds it for chat models
 * (`PromptConstants` and `get_generic_question_template_answer`, LMStyle.OpenAIChat: a system message and one user
 * message). The wording is the current upstream one (the stdin format ends "Ensure that when the python program
 * runs, it reads the inputs, runs the algorithm and writes output to STDOUT.", and the system message no longer has
 * "You will NOT return anything except for the program.").
 *
 * `style: 'single-user'` is LMStyle.OpenAIReason: the system text + "\n\n" + the user text as one user message.
 */
import type { ChatMessage } from '@quantbench/core';
import type { CodeProblem } from '../types.js';

export const LCB_SYSTEM_MESSAGE =
  'You are an expert Python programmer. You will be given a question (problem specification) and will generate a correct Python program that matches the specification and passes all tests.';

export const LCB_FORMATTING_WITH_STARTER_CODE =
  'You will use the following starter code to write the solution to the problem and enclose your code within delimiters.';

export const LCB_FORMATTING_WITHOUT_STARTER_CODE =
  'Read the inputs from stdin solve the problem and write the answer to stdout (do not directly test on the sample inputs). Enclose your code within delimiters as follows. Ensure that when the python program runs, it reads the inputs, runs the algorithm and writes output to STDOUT.';

export type LcbPromptStyle = 'system' | 'single-user';

/** `get_generic_question_template_answer`: question, format section (starter code or stdin), answer header. */
export function lcbUserMessage(question: string, starterCode: string): string {
  let prompt = `### Question:\n${question}\n\n`;
  if (starterCode) {
    prompt += `### Format: ${LCB_FORMATTING_WITH_STARTER_CODE}\n`;
    prompt += `\`\`\`python\n${starterCode}\n\`\`\`\n\n`;
  } else {
    prompt += `### Format: ${LCB_FORMATTING_WITHOUT_STARTER_CODE}\n`;
    prompt += '```python\n# YOUR CODE HERE\n```\n\n';
  }
  prompt += '### Answer: (use the provided format with backticks)\n\n';
  return prompt;
}

export function codeMessages(problem: CodeProblem, style: LcbPromptStyle = 'system'): ChatMessage[] {
  const user = lcbUserMessage(problem.question, problem.starterCode);
  if (style === 'single-user') return [{ role: 'user', content: `${LCB_SYSTEM_MESSAGE}\n\n${user}` }];
  return [
    { role: 'system', content: LCB_SYSTEM_MESSAGE },
    { role: 'user', content: user },
  ];
}
