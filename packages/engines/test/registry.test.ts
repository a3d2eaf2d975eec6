import { describe, expect, it } from 'vitest';
import { ENGINE_NAMES, engineStatuses, loadEngine } from '../src/index.js';

describe('engine registry', () => {
  it('lists the CPU engine as available, with its device', async () => {
    expect(ENGINE_NAMES).toContain('cpu');
    const cpu = (await engineStatuses()).find((status) => status.name === 'cpu');
    expect(cpu).toMatchObject({ available: true });
    expect(cpu && cpu.available && cpu.device).toMatch(/^CPU: .+ \(\d+ threads?\)$/);
  });

  it('finds a WebGPU adapter by itself (SwiftShader without a GPU) and names it', async () => {
    const webgpu = (await engineStatuses()).find((status) => status.name === 'webgpu');
    expect(webgpu).toMatchObject({ available: true });
    expect(webgpu && webgpu.available && webgpu.device).toMatch(/ — (hardware|SwiftShader)/);
  });

  it('lists the CUDA engine, with its GPU or the reason it cannot run (no driver, no device, not built)', async () => {
    const status = (await engineStatuses()).find((candidate) => candidate.name === 'cuda');
    expect(status).toBeDefined();
    if (status && !status.available) {
      expect(status.reason.length).toBeGreaterThan(0);
      await expect(loadEngine('cuda')).rejects.toThrow(`CUDA engine unavailable: ${status.reason}`);
    } else {
      expect(status && status.available && status.device).toMatch(/\(sm_\d+, /);
    }
  });

  it('names the choices when asked for an unknown engine', async () => {
    await expect(loadEngine('tpu')).rejects.toThrow("unknown engine 'tpu': expected one of cpu, webgpu, cuda");
  });
});
