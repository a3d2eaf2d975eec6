/**
 * A strict reader for the one kind of pickle LiveCodeBench ships: `pickle.dumps(some_str)` as Python 3.8+ writes it
 * (protocol 4 or 5).
 *
 * Unpickling is code execution in general (GLOBAL/STACK_GLOBAL + REDUCE call any importable function), so this is not
 * an unpickler: it walks the opcodes and accepts only
 *   PROTO n (n ≤ 5), FRAME, SHORT_BINUNICODE / BINUNICODE / BINUNICODE8 (exactly one), MEMOIZE, BINPUT,
 *   LONG_BINPUT, STOP
 * and returns the string. Any other opcode, a second value, a truncated argument, invalid UTF-8 or trailing bytes is
 * rejected with the opcode and byte offset. The memo opcodes (MEMOIZE for protocol 4+, BINPUT / LONG_BINPUT for
 * protocols 1–3) only record the value and are harmless.
 */
export class PickleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PickleError';
  }
}

const PROTO = 0x80;
const FRAME = 0x95;
const SHORT_BINUNICODE = 0x8c;
const BINUNICODE = 0x58; // 'X'
const BINUNICODE8 = 0x8d;
const MEMOIZE = 0x94;
const BINPUT = 0x71; // 'q'
const LONG_BINPUT = 0x72; // 'r'
const STOP = 0x2e; // '.'

/** Names of opcodes an attacker would use, for a clearer error. */
const KNOWN: Record<number, string> = {
  0x63: 'GLOBAL',
  0x93: 'STACK_GLOBAL',
  0x52: 'REDUCE',
  0x62: 'BUILD',
  0x69: 'INST',
  0x6f: 'OBJ',
  0x81: 'NEWOBJ',
  0x92: 'NEWOBJ_EX',
  0x28: 'MARK',
  0x29: 'EMPTY_TUPLE',
  0x5d: 'EMPTY_LIST',
  0x7d: 'EMPTY_DICT',
  0x56: 'UNICODE',
  0x55: 'SHORT_BINSTRING',
  0x54: 'BINSTRING',
  0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES',
  0x4b: 'BININT1',
  0x4a: 'BININT',
  0x4e: 'NONE',
  0x71: 'BINPUT',
  0x68: 'BINGET',
  0x94: 'MEMOIZE',
  0x85: 'TUPLE1',
  0x30: 'POP',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
  0x96: 'BYTEARRAY8',
};

function opName(op: number): string {
  return KNOWN[op] ?? `0x${op.toString(16).padStart(2, '0')}`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The str a `pickle.dumps(str)` byte string holds; throws PickleError on anything else. */
export function unpickleString(data: Uint8Array): string {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  let value: string | undefined;
  let sawProto = false;

  const need = (n: number, what: string): void => {
    if (pos + n > data.length) throw new PickleError(`truncated pickle: ${what} at byte ${pos} needs ${n} bytes, ${data.length - pos} left`);
  };
  const u64 = (what: string): number => {
    need(8, what);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new PickleError(`${what} length ${v} is too large`);
    return Number(v);
  };
  const text = (len: number, op: number): void => {
    if (value !== undefined) throw new PickleError(`a second value (${opName(op)}) at byte ${pos}: only a single str is accepted`);
    need(len, `${opName(op)} payload`);
    try {
      value = utf8.decode(data.subarray(pos, pos + len));
    } catch {
      throw new PickleError(`invalid UTF-8 in the ${opName(op)} string at byte ${pos}`);
    }
    pos += len;
  };

  while (pos < data.length) {
    const at = pos;
    const op = data[pos++] as number;
    switch (op) {
      case PROTO: {
        if (at !== 0 || sawProto) throw new PickleError(`PROTO at byte ${at}: only allowed as the first opcode`);
        need(1, 'PROTO');
        const version = data[pos++] as number;
        if (version > 5) throw new PickleError(`pickle protocol ${version} is not supported (at most 5)`);
        sawProto = true;
        break;
      }
      case FRAME:
        // A frame only groups the opcodes that follow; its length must fit in what is left.
        if (u64('FRAME') > data.length - pos) throw new PickleError(`FRAME at byte ${at} is longer than the data`);
        break;
      case SHORT_BINUNICODE:
        need(1, 'SHORT_BINUNICODE length');
        text(data[pos++] as number, op);
        break;
      case BINUNICODE: {
        need(4, 'BINUNICODE length');
        const len = view.getUint32(pos, true);
        pos += 4;
        text(len, op);
        break;
      }
      case BINUNICODE8:
        text(u64('BINUNICODE8'), op);
        break;
      case MEMOIZE:
      case BINPUT:
      case LONG_BINPUT:
        if (value === undefined) throw new PickleError(`${opName(op)} at byte ${at} with nothing to memoize`);
        if (op === BINPUT) need(1, 'BINPUT index');
        if (op === LONG_BINPUT) need(4, 'LONG_BINPUT index');
        pos += op === BINPUT ? 1 : op === LONG_BINPUT ? 4 : 0;
        break;
      case STOP:
        if (value === undefined) throw new PickleError(`STOP at byte ${at} with no value: expected a single str`);
        if (pos !== data.length) throw new PickleError(`${data.length - pos} trailing bytes after STOP`);
        return value;
      default:
        throw new PickleError(
          `opcode ${opName(op)} at byte ${at} is not allowed: only a pickled str is accepted ` +
            '(PROTO, FRAME, SHORT_BINUNICODE, BINUNICODE, BINUNICODE8, MEMOIZE, BINPUT, LONG_BINPUT, STOP); anything else could run code',
        );
    }
  }
  throw new PickleError('truncated pickle: no STOP opcode');
}
