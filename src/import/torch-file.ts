// torch.save files, both containers, read with our restricted unpickler (src/import/pickle.ts):
//
// - zip (PyTorch >= 1.6): `<archive>/data.pkl` is the pickled object, whose storages are persistent ids
//   ('storage', StorageClass, key, location, numel) with their bytes in `<archive>/data/<key>`; an optional
//   `<archive>/byteorder` says 'little' or 'big' (PyTorch >= 2.1 writes it, older files are little-endian).
// - legacy (`_use_new_zipfile_serialization=False`, and every file before 1.6): five things back to back:
//   the magic-number pickle, the protocol-version pickle (1001), the sys-info pickle, the object's pickle
//   (persistent ids ('storage', StorageClass, key, location, numel, view)), a pickled list of storage keys,
//   then for each key in that order an 8-byte little-endian element count and the raw little-endian data.
//
// The result is the unpickled object with tensors as CheckpointTensors; their bytes are views into the
// file (zip entries stored uncompressed are copied once by fflate, deflated ones inflated).
import { unzipSync, type UnzipFileInfo } from 'fflate';
import { ImportError } from './error';
import { isPyDict, PyTuple, unpickle, type UnpickleHooks } from './pickle';
import { type CheckpointTensor, checkGeometry, ELEMENT_BYTES, isCheckpointTensor, type TensorStorage } from './tensor';

export type TorchFormat = 'torch.save zip' | 'torch.save legacy';

/** torch.save's legacy magic number, the first pickle of a legacy file. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

/** Zip entries are refused past this size (and a deflated one that would expand more than DEFLATE's limit). */
const MAX_ZIP_ENTRY_BYTES = 2 ** 31 - 1;
const MAX_DEFLATE_RATIO = 1032;

// ---- the whitelist ----------------------------------------------------------------------------------

/** A whitelisted global: a rebuild function or class we interpret ourselves (nothing is looked up). */
class TorchGlobal {
  constructor(readonly name: string) {}
}

/** A legacy storage class (torch.FloatStorage ...): in a persistent id it gives the storage's dtype. */
class StorageClass {
  constructor(readonly name: string, readonly dtype: string) {}
}

/** A torch.dtype global (torch.float32 ...), an argument of _rebuild_tensor_v3. */
class DTypeValue {
  constructor(readonly dtype: string) {}
}

const STORAGE_CLASSES: Readonly<Record<string, string>> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8', ByteStorage: 'uint8',
  BoolStorage: 'bool', ComplexFloatStorage: 'complex64', ComplexDoubleStorage: 'complex128',
  QInt8Storage: 'qint8', QUInt8Storage: 'quint8', QInt32Storage: 'qint32', QUInt4x2Storage: 'quint4x2',
  QUInt2x4Storage: 'quint2x4', UntypedStorage: 'uint8',
};

const DTYPE_NAMES: Readonly<Record<string, string>> = {
  float32: 'float32', float: 'float32', float64: 'float64', double: 'float64', float16: 'float16', half: 'float16',
  bfloat16: 'bfloat16', int64: 'int64', long: 'int64', int32: 'int32', int: 'int32', int16: 'int16', short: 'int16',
  int8: 'int8', uint8: 'uint8', bool: 'bool', complex64: 'complex64', complex128: 'complex128',
};

const FUNCTIONS = new Set([
  'collections.OrderedDict', 'torch._utils._rebuild_tensor', 'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor_v3', 'torch._utils._rebuild_parameter', 'torch._utils._rebuild_parameter_with_state',
  'torch._tensor._rebuild_from_type_v2', 'torch.Size', 'torch.device', 'torch.Tensor', 'torch.nn.parameter.Parameter',
  '_codecs.encode',
]);

/** Modules whose classes mean "a whole pickled model": worth a hint on what to save instead. */
const MODEL_MODULES = /^(__main__|torchvision\.|torch\.nn\.modules\.|timm\.)/;

function resolveGlobal(module: string, name: string): unknown {
  const full = `${module}.${name}`;
  if (FUNCTIONS.has(full)) return new TorchGlobal(full);
  if ((module === 'torch' || module === 'torch.storage') && Object.hasOwn(STORAGE_CLASSES, name)) {
    return new StorageClass(name, STORAGE_CLASSES[name]!);
  }
  if (module === 'torch' && Object.hasOwn(DTYPE_NAMES, name)) return new DTypeValue(DTYPE_NAMES[name]!);
  const hint = MODEL_MODULES.test(full) ? ' (a whole pickled model: save model.state_dict() instead)' : '';
  throw new ImportError(`checkpoint refers to '${full}', which a weights-only load does not allow${hint}`);
}

// ---- storages and tensors ---------------------------------------------------------------------------

/** One storage of the file: its dtype and declared size from the pickle, its bytes from the container. */
class TorchStorage implements TensorStorage {
  data: Uint8Array | undefined;

  constructor(
    readonly key: string,
    readonly dtype: string,
    readonly declaredElements: number,
    readonly bigEndian: boolean,
    /** Legacy storage views: a slice of another storage, in elements of this dtype. */
    private readonly viewOf?: { readonly root: TorchStorage; readonly offset: number; readonly elements: number },
  ) {}

  bytes(): Uint8Array {
    if (this.viewOf) {
      const { root, offset, elements } = this.viewOf;
      const size = ELEMENT_BYTES[this.dtype] ?? 1;
      const all = root.bytes();
      if ((offset + elements) * size > all.length) {
        throw new ImportError(`storage view '${this.key}' reaches byte ${(offset + elements) * size} of storage '${root.key}', which has ${all.length}`);
      }
      return all.subarray(offset * size, (offset + elements) * size);
    }
    if (!this.data) throw new ImportError(`the checkpoint has no data for storage '${this.key}'`);
    return this.data;
  }
}

function intOf(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  throw new ImportError(`checkpoint pickle: ${what} is not an integer`);
}

function intTuple(v: unknown, what: string): number[] {
  if (!(v instanceof PyTuple)) throw new ImportError(`checkpoint pickle: ${what} is not a tuple`);
  return v.items.map((x, i) => intOf(x, `${what}[${i}]`));
}

function rebuildTensor(args: readonly unknown[], dtypeOverride?: string): CheckpointTensor {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof TorchStorage)) throw new ImportError('checkpoint pickle: a tensor is rebuilt from something that is not a storage');
  const t: CheckpointTensor = {
    dtype: dtypeOverride ?? storage.dtype,
    shape: intTuple(size, 'tensor size'),
    strides: intTuple(stride, 'tensor stride'),
    offset: intOf(offset, 'tensor storage offset'),
    storage,
  };
  checkGeometry(t, `a tensor in storage '${storage.key}'`);
  return t;
}

function asTensor(v: unknown, what: string): CheckpointTensor {
  if (!isCheckpointTensor(v)) throw new ImportError(`checkpoint pickle: ${what} is not a tensor`);
  return v;
}

/** REDUCE, NEWOBJ and BUILD for the whitelisted globals; persistent ids are the container's. */
function torchHooks(persistentLoad: (pid: unknown) => unknown): UnpickleHooks {
  const reduce = (fn: unknown, args: readonly unknown[]): unknown => {
    const name = fn instanceof TorchGlobal ? fn.name : fn instanceof StorageClass ? `torch.${fn.name}` : undefined;
    switch (name) {
      case 'collections.OrderedDict': {
        const d = new Map<unknown, unknown>();
        const items = args[0];
        if (Array.isArray(items)) {
          for (const pair of items) {
            if (!(pair instanceof PyTuple) || pair.items.length !== 2) throw new ImportError('checkpoint pickle: OrderedDict items are not pairs');
            d.set(pair.items[0], pair.items[1]);
          }
        }
        return d;
      }
      case 'torch.Size':
        return args[0] ?? new PyTuple([]);
      case 'torch.device':
        return String(args[0]);
      case 'torch._utils._rebuild_tensor':
      case 'torch._utils._rebuild_tensor_v2':
        return rebuildTensor(args);
      case 'torch._utils._rebuild_tensor_v3': {
        const dtype = args[6];
        if (!(dtype instanceof DTypeValue)) throw new ImportError('checkpoint pickle: _rebuild_tensor_v3 has no dtype');
        return rebuildTensor(args, dtype.dtype);
      }
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state':
        return asTensor(args[0], 'a parameter\'s data');
      case 'torch._tensor._rebuild_from_type_v2': {
        // (func, type, args, state): a Tensor or Parameter whose Python object carried extra attributes.
        const [func, type, inner] = args;
        if (!(type instanceof TorchGlobal) || (type.name !== 'torch.Tensor' && type.name !== 'torch.nn.parameter.Parameter')) {
          throw new ImportError('checkpoint pickle: a tensor subclass other than Tensor or Parameter');
        }
        if (!(inner instanceof PyTuple)) throw new ImportError('checkpoint pickle: _rebuild_from_type_v2 arguments are not a tuple');
        return reduce(func, inner.items);
      }
      case '_codecs.encode': {
        // Protocol 2 writes bytes as _codecs.encode(latin-1 text, 'latin1').
        const [s, encoding] = args;
        if (typeof s !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) throw new ImportError('checkpoint pickle: unsupported _codecs.encode call');
        return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
      }
      default:
        throw new ImportError(`checkpoint pickle: ${name ?? 'a value that is not a function'} cannot be called in a weights-only load`);
    }
  };
  return {
    resolveGlobal,
    reduce,
    newObject(cls, args) {
      if (cls instanceof TorchGlobal && cls.name === 'torch.nn.parameter.Parameter') return asTensor(args[0], 'a parameter\'s data');
      if (cls instanceof TorchGlobal && cls.name === 'collections.OrderedDict') return new Map();
      throw new ImportError(`checkpoint pickle: ${cls instanceof TorchGlobal ? cls.name : 'this class'} cannot be instantiated in a weights-only load`);
    },
    build(obj, state) {
      // OrderedDict state is its attributes (a state dict's _metadata: versions per module); not needed.
      if (isPyDict(obj)) return obj;
      if (isCheckpointTensor(obj) && (state === null || (isPyDict(state) && state.size === 0))) return obj;
      throw new ImportError('checkpoint pickle: BUILD on an object other than a dict or a tensor without attributes');
    },
    persistentLoad,
  };
}

/** The parts of a storage persistent id both containers share: ('storage', class, key, location, numel, ...). */
function storageId(pid: unknown, length: number): { cls: StorageClass; key: string; numel: number; rest: readonly unknown[] } {
  if (!(pid instanceof PyTuple)) throw new ImportError('checkpoint pickle: a persistent id is not a tuple');
  const [tag, cls, key, , numel, ...rest] = pid.items;
  if (tag === 'module') throw new ImportError('checkpoint is a whole pickled model (torch.save(model)): save model.state_dict() instead');
  if (tag !== 'storage' || pid.items.length !== length) {
    throw new ImportError(`checkpoint pickle: persistent id ${String(tag)} with ${pid.items.length} fields is not a storage`);
  }
  if (!(cls instanceof StorageClass)) throw new ImportError('checkpoint pickle: a storage has no storage class');
  if (typeof key !== 'string' && typeof key !== 'number') throw new ImportError('checkpoint pickle: a storage key is not a string');
  return { cls, key: String(key), numel: intOf(numel, `storage '${String(key)}' size`), rest };
}

// ---- zip container ----------------------------------------------------------------------------------

/**
 * Cheap checks on the zip's end-of-central-directory record before fflate walks it: a truncated file has
 * none, and an entry count the central directory cannot hold (46 bytes an entry) is refused.
 */
function checkZipDirectory(bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= 0 && bytes.length - i <= 22 + 0xffff; i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ImportError('the zip archive is truncated or corrupt: it has no end-of-central-directory record');
  let entries = view.getUint16(eocd + 10, true);
  if (entries === 0xffff && eocd >= 20 && view.getUint32(eocd - 20, true) === 0x07064b50) {
    const at = Number(view.getBigUint64(eocd - 12, true));
    if (at + 56 > bytes.length) throw new ImportError('the zip archive is truncated or corrupt: its zip64 directory record is past the end');
    entries = Number(view.getBigUint64(at + 32, true));
  }
  if (entries * 46 > bytes.length) throw new ImportError(`the zip archive is corrupt: it declares ${entries} entries in ${bytes.length} bytes`);
}

/** The records torch.save's loader needs, keyed by their name under the archive folder. */
function readZipRecords(bytes: Uint8Array): Map<string, Uint8Array> {
  checkZipDirectory(bytes);
  const expected = new Map<string, number>();
  const prefixes = new Set<string>();
  let torchScript = false;
  const wanted = (info: UnzipFileInfo): boolean => {
    const slash = info.name.indexOf('/');
    const rest = info.name.slice(slash + 1);
    if (rest === 'constants.pkl' || rest.startsWith('code/')) torchScript = true;
    if (rest !== 'data.pkl' && rest !== 'byteorder' && !/^data\/[^/]+$/.test(rest)) return false;
    prefixes.add(info.name.slice(0, slash + 1));
    if (info.compression !== 0 && info.compression !== 8) {
      throw new ImportError(`zip entry '${info.name}' uses compression method ${info.compression} (only stored and deflate are read)`);
    }
    if (info.size > bytes.length) {
      throw new ImportError(`zip entry '${info.name}' declares ${info.size} bytes, more than the whole file (${bytes.length}): the file is truncated or corrupt`);
    }
    const limit = info.compression === 0 ? info.size : Math.min(MAX_ZIP_ENTRY_BYTES, info.size * MAX_DEFLATE_RATIO + 1024);
    if (info.originalSize > limit || info.originalSize > MAX_ZIP_ENTRY_BYTES) {
      throw new ImportError(`zip entry '${info.name}' declares ${info.originalSize} bytes from ${info.size} stored: refused`);
    }
    expected.set(info.name, info.originalSize);
    return true;
  };
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, { filter: wanted });
  } catch (e) {
    if (e instanceof ImportError) throw e;
    throw new ImportError(`the zip archive is truncated or corrupt (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  if (torchScript) throw new ImportError('this is a TorchScript archive (torch.jit.save): save model.state_dict() with torch.save instead');
  if (prefixes.size !== 1) {
    throw new ImportError(prefixes.size === 0
      ? 'the zip archive is not a torch.save file: it has no data.pkl'
      : `the zip archive holds ${prefixes.size} torch.save archives (${[...prefixes].join(', ')}); expected one`);
  }
  const prefix = [...prefixes][0]!;
  const records = new Map<string, Uint8Array>();
  for (const [name, want] of expected) {
    const got = files[name];
    if (!got || got.length !== want) {
      throw new ImportError(`zip entry '${name}' has ${got?.length ?? 0} of its ${want} bytes: the file is truncated or corrupt`);
    }
    records.set(name.slice(prefix.length), got);
  }
  if (!records.has('data.pkl')) throw new ImportError('the zip archive is not a torch.save file: it has no data.pkl');
  return records;
}

export function readTorchZip(bytes: Uint8Array): unknown {
  const records = readZipRecords(bytes);
  const order = records.get('byteorder');
  const orderText = order ? new TextDecoder().decode(order).trim() : 'little';
  if (orderText !== 'little' && orderText !== 'big') throw new ImportError(`the checkpoint's byteorder record says '${orderText.slice(0, 20)}'`);
  const bigEndian = orderText === 'big';
  const storages = new Map<string, TorchStorage>();
  const persistentLoad = (pid: unknown): unknown => {
    const { cls, key, numel } = storageId(pid, 5);
    let s = storages.get(key);
    if (!s) {
      const data = records.get(`data/${key}`);
      if (!data) throw new ImportError(`data.pkl refers to storage 'data/${key}', which the zip does not have`);
      const nbytes = numel * (ELEMENT_BYTES[cls.dtype] ?? 1);
      if (nbytes > data.length) {
        throw new ImportError(`storage 'data/${key}' declares ${numel} ${cls.dtype} elements (${nbytes} bytes), but its record has ${data.length} bytes`);
      }
      s = new TorchStorage(`data/${key}`, cls.dtype, numel, bigEndian);
      s.data = data;
      storages.set(key, s);
    }
    return s;
  };
  return unpickle(records.get('data.pkl')!, torchHooks(persistentLoad), 'data.pkl').value;
}

// ---- legacy container -------------------------------------------------------------------------------

export function readTorchLegacy(bytes: Uint8Array): unknown {
  // The three header pickles hold only ints and a small dict: no global may appear in them.
  const plain: UnpickleHooks = {
    resolveGlobal: (m, n) => {
      throw new ImportError(`the checkpoint's header refers to '${m}.${n}', which a weights-only load does not allow`);
    },
    reduce: () => null, newObject: () => null, build: (o) => o,
    persistentLoad: () => {
      throw new ImportError('the checkpoint\'s header has a persistent id');
    },
  };
  const magic = unpickle(bytes, plain, 'legacy header', 0);
  if (magic.value !== LEGACY_MAGIC && magic.value !== Number(LEGACY_MAGIC)) {
    throw new ImportError('this pickle is not a torch.save file (its first value is not torch\'s magic number)');
  }
  const version = unpickle(bytes, plain, 'legacy header', magic.end);
  if (version.value !== LEGACY_PROTOCOL_VERSION) throw new ImportError(`legacy torch.save protocol ${String(version.value)} is not ${LEGACY_PROTOCOL_VERSION}`);
  const sysInfo = unpickle(bytes, plain, 'legacy header', version.end);

  const storages = new Map<string, TorchStorage>();
  const persistentLoad = (pid: unknown): unknown => {
    const { cls, key, numel, rest } = storageId(pid, 6);
    let root = storages.get(key);
    if (!root) {
      root = new TorchStorage(key, cls.dtype, numel, false);
      storages.set(key, root);
    }
    const view = rest[0];
    if (view === null || view === undefined) return root;
    // (view_key, offset, size): written by PyTorch before 1.0 for storage slices.
    if (!(view instanceof PyTuple) || view.items.length !== 3) throw new ImportError('checkpoint pickle: a storage view is not (key, offset, size)');
    const viewKey = String(view.items[0]);
    const existing = storages.get(viewKey);
    if (existing) return existing;
    const v = new TorchStorage(viewKey, cls.dtype, intOf(view.items[2], 'view size'), false, {
      root, offset: intOf(view.items[1], 'view offset'), elements: intOf(view.items[2], 'view size'),
    });
    storages.set(viewKey, v);
    return v;
  };
  const main = unpickle(bytes, torchHooks(persistentLoad), 'checkpoint pickle', sysInfo.end);
  const keysPickle = unpickle(bytes, plain, 'storage key list', main.end);
  const keys = keysPickle.value;
  if (!Array.isArray(keys)) throw new ImportError('the legacy storage key list is not a list');

  // Storage records follow in key order: 8-byte LE element count, then the elements.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = keysPickle.end;
  for (const k of keys) {
    const key = String(k);
    const s = storages.get(key);
    if (!s) throw new ImportError(`the legacy storage list names '${key}', which the pickle never refers to`);
    if (pos + 8 > bytes.length) throw new ImportError(`the file ends before storage '${key}' (truncated)`);
    const count = view.getBigUint64(pos, true);
    pos += 8;
    const size = BigInt(ELEMENT_BYTES[s.dtype] ?? 1);
    const nbytes = count * size;
    if (nbytes > BigInt(bytes.length - pos)) {
      throw new ImportError(`storage '${key}' declares ${count} ${s.dtype} elements (${nbytes} bytes), but only ${bytes.length - pos} bytes remain in the file`);
    }
    s.data = bytes.subarray(pos, pos + Number(nbytes));
    pos += Number(nbytes);
  }
  return main.value;
}
