import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodePrivateTests, PickleError, unpickleString } from '../src/datasets/index.js';

const bytes = (...parts: (number[] | string | Uint8Array)[]): Uint8Array =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
const u32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const u64 = (n: number): number[] => [...u32(n), 0, 0, 0, 0];

describe('strict str-only pickle reader', () => {
  it('reads what Python writes for pickle.dumps(str): protocol 4 frame + SHORT_BINUNICODE/BINUNICODE + MEMOIZE', () => {
    // pickle.dumps('héllo', protocol=4) == b'\x80\x04\x95\n\x00\x00\x00\x00\x00\x00\x00\x8c\x06h\xc3\xa9llo\x94.'
    const p4 = bytes([0x80, 4, 0x95], u64(10), [0x8c, 6], Buffer.from('héllo'), [0x94], '.');
    expect(unpickleString(p4)).toBe('héllo');
    const long = 'x'.repeat(300);
    expect(unpickleString(bytes([0x80, 5, 0x95], u64(305), 'X', u32(300), long, [0x94], '.'))).toBe(long);
    expect(unpickleString(bytes([0x80, 5, 0x8d], u64(3), 'abc', '.'))).toBe('abc'); // BINUNICODE8
    expect(unpickleString(bytes([0x8c, 0], '.'))).toBe(''); // no PROTO, empty string
  });

  it('rejects code-execution opcodes: GLOBAL + REDUCE (os.system)', () => {
    // pickle protocol 0: cos\nsystem\n(S'echo pwned'\ntR.
    const evil = bytes("cos\nsystem\n(S'echo pwned'\ntR.");
    expect(() => unpickleString(evil)).toThrow(PickleError);
    expect(() => unpickleString(evil)).toThrow(/opcode GLOBAL at byte 0 is not allowed/);
    // protocol 4: PROTO, a str, then STACK_GLOBAL/REDUCE after the str is rejected before anything could run.
    const stackGlobal = bytes([0x80, 4, 0x8c, 2], 'os', [0x94, 0x93], [0x52], '.');
    expect(() => unpickleString(stackGlobal)).toThrow(/opcode STACK_GLOBAL at byte 7 is not allowed/);
    expect(() => unpickleString(bytes([0x80, 4, 0x8c, 1], 'a', [0x52], '.'))).toThrow(/REDUCE/);
  });

  it('rejects everything that is not exactly one str', () => {
    expect(() => unpickleString(bytes([0x80, 4, 0x8c, 1], 'a', [0x8c, 1], 'b', '.'))).toThrow(/second value/);
    expect(() => unpickleString(bytes([0x80, 4, 0x4b, 7], '.'))).toThrow(/BININT1/); // an int
    expect(() => unpickleString(bytes([0x80, 4, 0x5d], '.'))).toThrow(/EMPTY_LIST/);
    expect(() => unpickleString(bytes([0x80, 4], '.'))).toThrow(/STOP at byte 2 with no value/);
    expect(() => unpickleString(bytes([0x80, 6, 0x8c, 1], 'a', '.'))).toThrow(/protocol 6 is not supported/);
    expect(() => unpickleString(bytes([0x80, 4, 0x8c, 1], 'a', '.', 'junk'))).toThrow(/4 trailing bytes after STOP/);
    expect(() => unpickleString(bytes([0x80, 4, 0x8c, 9], 'abc'))).toThrow(/truncated/);
    expect(() => unpickleString(bytes([0x80, 4, 0x8c, 1], 'a'))).toThrow(/no STOP/);
    expect(() => unpickleString(bytes([0x80, 4, 0x8c, 2, 0xc3, 0x28], '.'))).toThrow(/invalid UTF-8/);
    expect(() => unpickleString(bytes([0x80, 4, 0x95], u64(1000), [0x8c, 1], 'a', '.'))).toThrow(/FRAME .* longer than the data/);
    expect(() => unpickleString(bytes([0x80, 2, 0x80, 2, 0x8c, 1], 'a', '.'))).toThrow(/PROTO at byte 2/);
    // Protocols 1–3 memoize with BINPUT / LONG_BINPUT: pickle.dumps('ab', protocol=2) == b'\x80\x02X\x02\x00\x00\x00abq\x00.'
    expect(unpickleString(bytes([0x80, 2], 'X', u32(2), 'ab', 'q', [0], '.'))).toBe('ab');
    expect(unpickleString(bytes([0x80, 2], 'X', u32(2), 'ab', 'r', u32(0), '.'))).toBe('ab');
    expect(() => unpickleString(bytes([0x80, 2], 'X', u32(1), 'a', 'q'))).toThrow(/truncated pickle: BINPUT index/);
  });

  it('LiveCodeBench private tests: base64(zlib(pickle(json))) and plain JSON', () => {
    const json = JSON.stringify([{ input: '1\n', output: '2\n', testtype: 'stdin' }]);
    const pickled = bytes([0x80, 4, 0x95], u64(json.length + 6), 'X', u32(json.length), json, [0x94], '.');
    const encoded = deflateSync(pickled).toString('base64');
    expect(decodePrivateTests(encoded)).toEqual({ json, encoding: 'zlib-pickle' });
    expect(decodePrivateTests(` ${json}\n`)).toEqual({ json, encoding: 'json' });
    const evil = deflateSync(bytes("cos\nsystem\n(S'echo pwned'\ntR.")).toString('base64');
    expect(() => decodePrivateTests(evil)).toThrow(/GLOBAL/);
    expect(() => decodePrivateTests('%%%')).toThrow(/neither a JSON list nor base64/);
  });
});
