import type { Engine, GenerateOptions, GenerateRequest, LoadedModel } from '@quantbench/core';

export interface Counter {
  loads: number;
  calls: number;
  requests: number;
}

export function newCounter(): Counter {
  return { loads: 0, calls: 0, requests: 0 };
}

/** Wraps an engine so every `load` and every request passed to `generate` is counted. */
export function countingEngine(engine: Engine, counter: Counter): Engine {
  return {
    name: engine.name,
    capabilities: () => engine.capabilities(),
    dispose: () => engine.dispose(),
    async load(options) {
      counter.loads++;
      const model = await engine.load(options);
      return new Proxy(model, {
        get(target, property) {
          if (property === 'generate') {
            return (requests: readonly GenerateRequest[], generateOptions?: GenerateOptions) => {
              counter.calls++;
              counter.requests += requests.length;
              return target.generate(requests, generateOptions);
            };
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      }) as LoadedModel;
    },
  };
}
