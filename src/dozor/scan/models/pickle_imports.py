"""Which imports a pickle may make: an allowlist of what real ML files contain, plus a
denylist that marks the known-dangerous ones as critical.

The allowlist decides safety; the denylist only decides severity. Anything that is
neither is an *unknown import* (medium), which a user may allow in `.dozor.yaml`.
So a new bypass gadget that nobody has listed yet is still reported: the reason
denylist-only scanners keep missing `pip.main`, `pkgutil.resolve_name` and friends.

Names are judged whole (``module.name``), after the unpickler's Python 2 renames, and
with dotted names walked: protocol 4 resolves ``("torch", "serialization.load")`` to
``torch.serialization.load``, so that is what we judge.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class Verdict(enum.Enum):
    SAFE = "safe"
    UNKNOWN = "unknown"
    DANGEROUS = "dangerous"
    NESTED = "nested"
    """Deserialises further data (pickle.loads, torch.load): dangerous, payload scanned too."""
    IMPORT_GADGET = "import-gadget"
    """Performs an import named by its arguments (numpy's _ufunc_reconstruct)."""
    NESTED_SAFE = "nested-safe"
    """Allowed loader of nested data that we scan as well (torch.storage._load_from_bytes)."""


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    reason: str


# --- safe: exact names -------------------------------------------------------------

_SAFE_EXACT = frozenset(
    """
builtins.set builtins.frozenset builtins.slice builtins.complex builtins.bytearray
builtins.bytes builtins.range builtins.object builtins.dict builtins.list builtins.tuple
builtins.int builtins.float builtins.str builtins.bool builtins.NotImplemented
builtins.Ellipsis
collections.OrderedDict collections.defaultdict collections.deque collections.Counter
copyreg._reconstructor copyreg.__newobj__ copyreg.__newobj_ex__ _codecs.encode
functools.partial
datetime.datetime datetime.date datetime.time datetime.timedelta datetime.timezone
decimal.Decimal fractions.Fraction uuid.UUID re._compile enum.Enum
pathlib.Path pathlib.PosixPath pathlib.WindowsPath pathlib.PurePath pathlib.PurePosixPath
pathlib.PureWindowsPath argparse.Namespace types.SimpleNamespace
numpy.core.multiarray._reconstruct numpy._core.multiarray._reconstruct
numpy.core.multiarray.scalar numpy._core.multiarray.scalar numpy.ndarray numpy.dtype
numpy.core.numeric._frombuffer numpy._core.numeric._frombuffer
numpy.ma.core._mareconstruct numpy.ma.core.MaskedArray numpy.matrix
numpy.random._pickle.__randomstate_ctor numpy.random._pickle.__bit_generator_ctor
numpy.random._pickle.__generator_ctor numpy.random.mtrand.RandomState
numpy.random.__RandomState_ctor
torch._utils._rebuild_tensor torch._utils._rebuild_tensor_v2 torch._utils._rebuild_tensor_v3
torch._utils._rebuild_parameter torch._utils._rebuild_parameter_with_state
torch._utils._rebuild_sparse_tensor torch._utils._rebuild_nested_tensor
torch._utils._rebuild_device_tensor_from_numpy torch._utils._rebuild_meta_tensor_no_storage
torch._utils._rebuild_wrapper_subclass torch._utils._rebuild_qtensor
torch._utils._rebuild_sparse_csr torch._utils._rebuild_device_tensor_from_cpu_tensor
torch._tensor._rebuild_from_type torch._tensor._rebuild_from_type_v2
torch.storage.TypedStorage torch.storage.UntypedStorage torch.storage._TypedStorage
torch.Size torch.device torch.Tensor torch.Generator torch.serialization._get_layout
torch.nn.parameter.Parameter torch.nn.parameter.Buffer torch.nn.parameter.UninitializedParameter
torch.nn.parameter.UninitializedBuffer torch._C._nn.gelu
torch.distributed._shard.sharded_tensor.ShardedTensor
lightning.fabric.utilities.data.AttributeDict pytorch_lightning.utilities.parsing.AttributeDict
lightning.pytorch.utilities.parsing.AttributeDict lightning_fabric.utilities.data.AttributeDict
omegaconf.dictconfig.DictConfig omegaconf.listconfig.ListConfig omegaconf.base.ContainerMetadata
omegaconf.base.Metadata omegaconf.nodes.AnyNode omegaconf.nodes.ValueNode
torch.jit._pickle.build_intlist torch.jit._pickle.build_tensorlist torch.jit._pickle.build_boollist
torch.jit._pickle.build_doublelist torch.jit._pickle.build_tensor_from_id
torch.jit._pickle.restore_type_tag
dill._dill._create_array dill._dill._load_type dill._dill._create_dtypemeta
pandas.DataFrame pandas.Series pandas.Index pandas.RangeIndex pandas.MultiIndex pandas.Categorical
pandas.CategoricalIndex pandas.CategoricalDtype pandas.DatetimeIndex pandas.TimedeltaIndex
pandas.PeriodIndex pandas.IntervalIndex pandas.Timestamp pandas.Timedelta pandas.Period
pandas.Interval pandas.StringDtype pandas.BooleanDtype pandas.Int64Dtype pandas.Int32Dtype
pandas.Float64Dtype pandas.DatetimeTZDtype pandas.PeriodDtype pandas.IntervalDtype
pandas.SparseDtype pandas.ArrowDtype pandas.Int8Dtype pandas.Int16Dtype pandas.UInt8Dtype
pandas.UInt16Dtype pandas.UInt32Dtype pandas.UInt64Dtype pandas.Float32Dtype pandas.NA pandas.NaT
numpy.rec.recarray numpy.record numpy.recarray numpy.core.records.recarray
numpy._core.records.recarray numpy.core.records.record numpy._core.records.record
scipy.spatial._ckdtree.cKDTree zoneinfo.ZoneInfo torch.ScriptObject
sklearn.neighbors._kd_tree.newObj sklearn.neighbors._ball_tree.newObj
sklearn.metrics._dist_metrics.newObj
torch.nn.functional.relu torch.nn.functional.gelu torch.nn.functional.silu
torch.nn.functional.leaky_relu torch.nn.functional.elu torch.nn.functional.selu
torch.nn.functional.softplus torch.nn.functional.mish torch.nn.functional.hardswish
torch.nn.functional.hardsigmoid torch.nn.functional.relu6 torch.nn.functional.glu
torch.nn.functional.softmax torch.nn.functional.log_softmax torch.nn.functional.tanh
torch.nn.functional.sigmoid torch.tanh torch.sigmoid torch.relu
pyarrow.NA pyarrow.lib.NA pyarrow.lib._reconstruct_record_batch pyarrow.lib._reconstruct_table
pyarrow.lib._restore_array pyarrow.lib.chunked_array pyarrow.lib.py_buffer pyarrow.lib.scalar
pyarrow.lib.schema pyarrow.lib.field pyarrow.lib.type_for_alias pyarrow.lib.dictionary
pyarrow.lib.list_ pyarrow.lib.large_list pyarrow.lib.list_view pyarrow.lib.large_list_view
pyarrow.lib.fixed_size_list pyarrow.lib.map_ pyarrow.lib.struct pyarrow.lib.timestamp
pyarrow.lib.time32 pyarrow.lib.time64 pyarrow.lib.date32 pyarrow.lib.date64
pyarrow.lib.duration pyarrow.lib.month_day_nano_interval pyarrow.lib.decimal32
pyarrow.lib.decimal64 pyarrow.lib.decimal128 pyarrow.lib.decimal256 pyarrow.lib.binary
pyarrow.lib.large_binary pyarrow.lib.string pyarrow.lib.large_string pyarrow.lib.utf8
pyarrow.lib.large_utf8 pyarrow.lib.null pyarrow.lib.bool_ pyarrow.lib.float16
pyarrow.lib.float32 pyarrow.lib.float64 pyarrow.lib.int8 pyarrow.lib.int16 pyarrow.lib.int32
pyarrow.lib.int64 pyarrow.lib.uint8 pyarrow.lib.uint16 pyarrow.lib.uint32 pyarrow.lib.uint64
pyarrow.lib.run_end_encoded pyarrow.lib.binary_view pyarrow.lib.string_view
""".split()
)

_TORCH_DTYPES = """
float32 float float64 double float16 half bfloat16 complex32 chalf complex64 cfloat complex128
cdouble uint8 uint16 uint32 uint64 int8 int16 short int32 int int64 long bool quint8 qint8 qint32
quint4x2 quint2x4 float8_e4m3fn float8_e5m2 float8_e4m3fnuz float8_e5m2fnuz float8_e8m0fnu
float4_e2m1fn_x2 bits8 bits16 strided sparse_coo sparse_csr sparse_csc sparse_bsr sparse_bsc
_mkldnn contiguous_format channels_last channels_last_3d preserve_format per_tensor_affine
per_channel_affine per_tensor_symmetric per_channel_symmetric per_channel_affine_float_qparams
""".split()
_STORAGES = """
Float Double Half BFloat16 Long Int Short Char Byte Bool ComplexFloat ComplexDouble QUInt8 QInt8
QInt32 QUInt4x2 QUInt2x4 Untyped
""".split()

# numpy's ufuncs, stored by reference (FunctionTransformer(np.log1p) and the like):
# pure maths, listed by name because top-level numpy also has save, load and fromfile.
_NUMPY_UFUNCS = """
abs absolute acos acosh add arccos arccosh arcsin arcsinh arctan arctan2 arctanh asin asinh atan
atan2 atanh bitwise_and bitwise_count bitwise_invert bitwise_left_shift bitwise_not bitwise_or
bitwise_right_shift bitwise_xor cbrt ceil conj conjugate copysign cos cosh deg2rad degrees divide
divmod equal exp exp2 expm1 fabs float_power floor floor_divide fmax fmin fmod frexp gcd greater
greater_equal heaviside hypot invert isfinite isinf isnan isnat lcm ldexp left_shift less
less_equal log log10 log1p log2 logaddexp logaddexp2 logical_and logical_not logical_or
logical_xor matmul matvec maximum minimum mod modf multiply negative nextafter not_equal positive
pow power rad2deg radians reciprocal remainder right_shift rint sign signbit sin sinh spacing sqrt
square subtract tan tanh true_divide trunc vecdot vecmat
""".split()

_SAFE_EXACT_ALL = (
    _SAFE_EXACT
    | {f"numpy.{u}" for u in _NUMPY_UFUNCS}
    | {f"torch.{d}" for d in _TORCH_DTYPES}
    | {f"torch.{s}Storage" for s in _STORAGES}
    | {f"torch.cuda.{s}Storage" for s in _STORAGES}
)

# --- safe: classes under these package prefixes --------------------------------------
# A class name (CapitalCase) under one of these prefixes is allowed; functions are not,
# unless they are reconstructors (see _RECONSTRUCTOR).

_CLASS_PREFIXES = (
    "torch.nn.modules.",
    "torch.nn.utils.parametrize.",
    "torch.nn.utils.parametrizations.",
    "torch.ao.nn.",
    "torch.nn.quantized.",
    "torch.nn.intrinsic.",
    "torch.optim.",
    "torch.distributions.",
    "torch.return_types.",
    "torch.amp.grad_scaler.",
    "sklearn.",
    "xgboost.",
    "lightgbm.",
    "catboost.core.",
    "pandas.core.",
    "pandas._libs.",
    "numpy.",
    "scipy.sparse.",
    "scipy.interpolate.",
    "scipy.spatial._ckdtree.",
    "scipy.spatial._kdtree.",
    "transformers.training_args.",
    "transformers.training_args_seq2seq.",
    "transformers.trainer_utils.",
    "transformers.trainer_pt_utils.",
    "transformers.utils.generic.",
    "transformers.debug_utils.",
    "transformers.integrations.",
    "accelerate.utils.dataclasses.",
    "accelerate.state.",
    "peft.utils.peft_types.",
    "peft.tuners.",
    "tokenizers.",
    "lightning.pytorch.callbacks.",
    "pytorch_lightning.callbacks.",
    "imblearn.",
    "category_encoders.",
    "statsmodels.",
    "joblib.numpy_pickle.",
    "pandas.arrays.",
    # TorchScript's own class namespace, resolved by torch's C++ unpickler from the
    # archive's compiled code; Python's pickle cannot import it at all.
    "__torch__.",
)

_RECONSTRUCTOR = re.compile(
    r"^__pyx_unpickle_\w+$|"  # Cython's generated pickle helpers: __new__ plus state
    r"^_*(?:\w*_)?(?:unpickle|reconstruct|rebuild|ctor|new|restore|from_state|frombuffer|"
    r"create_block|new_block)(?:_\w*)?$"
)
_RECONSTRUCTOR_PREFIXES = ("pandas.core.", "pandas._libs.", "numpy.", "sklearn.", "scipy.sparse.")

_SCIPY_SPARSE = re.compile(r"^(?:csr|csc|coo|bsr|dia|dok|lil)_(?:matrix|array)$")

# Subtrees of allowed packages that can read files, run code or fetch data.
_DENIED_INSIDE_ALLOWED = (
    "sklearn.utils._testing",
    "sklearn.datasets",
    "sklearn.externals",
    "sklearn.utils._show_versions",
    "numpy.testing",
    "numpy.f2py",
    "numpy.distutils",
    "numpy.lib.npyio",
    "numpy.lib.format",
    "numpy.load",
    "numpy.fromfile",
    "numpy.memmap",
    "numpy.lib._npyio_impl",
    "numpy.ctypeslib",
    "pandas.io",
    "pandas.read_",
    "pandas.core.computation",
    "xgboost.tracker",
    "xgboost.collective",
    "lightgbm.dask",
    "statsmodels.iolib",
    "statsmodels.distributions",  # scipy rv_generic subclasses: exec() a string on load
    "statsmodels.sandbox",
    "transformers.integrations.deepspeed",
)

# --- dangerous ----------------------------------------------------------------------
# Whole modules whose import alone is a red flag, and exact callables. Matching is on
# the module path, so `asyncio.unix_events`, `pip._internal.cli.main` and the like are
# covered by their top package.

_DANGEROUS_MODULES = frozenset(
    """
os posix nt posixpath ntpath subprocess _posixsubprocess _winapi sys pty tty runpy code codeop
importlib imp pkgutil zipimport pip setuptools distutils ensurepip venv site sysconfig
socket _socket ssl socketserver http urllib urllib2 urllib3 httplib requests httpx aiohttp
ftplib smtplib smtpd telnetlib poplib imaplib xmlrpc webbrowser antigravity this
ctypes _ctypes cffi multiprocessing concurrent threading _thread asyncio signal selectors
shutil tempfile glob fileinput shelve dbm sqlite3 pickle _pickle cPickle pickletools
copy_reg marshal dill cloudpickle joblib.load types platform commands popen2 cProfile profile
pstats timeit trace tracemalloc pdb bdb doctest unittest idlelib lib2to3 pydoc tkinter turtle
IPython ipykernel jupyter_client jupyter_core notebook mailcap nturl2path uuid._popen gc inspect
builtins.eval builtins.exec builtins.compile builtins.__import__ builtins.getattr
builtins.setattr builtins.delattr builtins.open builtins.input builtins.breakpoint
builtins.globals builtins.locals builtins.vars builtins.help builtins.exit builtins.quit
builtins.__build_class__ builtins.__loader__
builtins.type builtins.super builtins.classmethod builtins.staticmethod builtins.property
builtins.apply builtins.execfile builtins.reload builtins.file
operator.attrgetter operator.methodcaller operator.getitem operator.setitem operator.delitem
_operator.attrgetter _operator.methodcaller _operator.getitem _operator.setitem
functools.reduce _functools.reduce functools.singledispatch functools.wraps
numpy.testing numpy.f2py numpy.distutils numpy.load numpy.fromfile numpy.memmap
numpy.lib.npyio numpy.ctypeslib
torch.load torch.serialization torch.jit torch.hub torch.package torch.utils.cpp_extension
torch._inductor torch.ops torch._dynamo torch.fx.graph_module torch.multiprocessing
torch.utils.collect_env torch.utils.data.datapipes torch._C._jit torch.compile torch._export
torch.export torch.distributed.rpc torch.testing torch.utils.benchmark torch.backends
torch.cuda.memory torch.classes torch.library torch._library torch._ops
joblib.numpy_pickle.load joblib.numpy_pickle_compat joblib.parallel joblib.externals
joblib._parallel_backends joblib.pool joblib.memory
keras.models.load_model keras.saving tensorflow tensorflow.io tf_keras
sklearn.utils._testing sklearn.datasets sklearn.externals
pandas.read_pickle pandas.io pandas.read_csv pandas.eval pandas.core.computation
jinja2 mako yaml ruamel lxml xml
huggingface_hub transformers.dynamic_module_utils transformers.pipelines transformers.models.auto
accelerate.commands accelerate.launchers gradio streamlit fastapi uvicorn flask
""".split()
)

_NESTED_LOADERS = frozenset(
    """
pickle.loads pickle.load _pickle.loads _pickle.load pickle._loads pickle.Unpickler
_pickle.Unpickler dill.loads dill.load dill._dill.loads cloudpickle.loads cloudpickle.load
joblib.load joblib.numpy_pickle.load torch.load torch.serialization.load
torch.serialization._load torch.jit.load torch._C.import_ir_module
numpy.load marshal.loads marshal.load pandas.read_pickle keras.models.load_model
""".split()
)

# Dangerous callables that real files call in exactly one harmless way: judged at the
# call (pandas 3 pickles every named time zone as getattr(zoneinfo.ZoneInfo, "_unpickle")).
ALLOWED_CALLS: dict[str, frozenset[tuple[str, str]]] = {
    "builtins.getattr": frozenset({("zoneinfo.ZoneInfo", "_unpickle")}),
}

_IMPORT_GADGETS = frozenset(
    """
numpy.core._ufunc_reconstruct numpy._core._ufunc_reconstruct numpy.core.umath._ufunc_reconstruct
numpy._core.umath._ufunc_reconstruct
""".split()
)

_NESTED_SAFE = frozenset({"torch.storage._load_from_bytes"})

# Dunder attributes that lead from any object to code, globals or the import system.
DANGEROUS_ATTRS = frozenset(
    """
__globals__ __builtins__ __subclasses__ __class__ __base__ __bases__ __mro__ __init__
__import__ __code__ __dict__ __getattribute__ __getattr__ __reduce__ __reduce_ex__
__setstate__ __call__ __func__ __self__ __closure__ __loader__ __spec__ __module__
__new__ __init_subclass__ __class_getitem__ func_globals f_globals gi_frame gi_code
cr_frame f_back f_locals tb_frame
""".split()
)


def _prefixes(full: str) -> list[str]:
    parts = full.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _is_class_name(name: str) -> bool:
    bare = name.lstrip("_")
    return bool(bare) and bare[0].isupper()


def judge(module: str, name: str) -> Judgement:
    """Classify the import ``module.name`` (name may be dotted)."""
    full = f"{module}.{name}" if module else name
    parts = name.split(".")
    walked = [p for p in parts if p in DANGEROUS_ATTRS or p == "<locals>"]
    if walked:
        return Judgement(Verdict.DANGEROUS, f"walks to {'.'.join(walked)} from {module}")
    if full in _NESTED_LOADERS:
        return Judgement(Verdict.NESTED, "deserialises nested data with a code-running loader")
    if full in _IMPORT_GADGETS:
        return Judgement(Verdict.IMPORT_GADGET, "imports a module named by its arguments")
    if full in _NESTED_SAFE:
        return Judgement(Verdict.NESTED_SAFE, "loads nested torch data (scanned as well)")
    if full in _SAFE_EXACT_ALL:
        return Judgement(Verdict.SAFE, "allowed")
    for prefix in _prefixes(full):
        if prefix in _DANGEROUS_MODULES:
            return Judgement(Verdict.DANGEROUS, f"{prefix} can run code or touch files or network")
    if any(full.startswith(d) for d in _DENIED_INSIDE_ALLOWED):
        return Judgement(Verdict.DANGEROUS, "part of an ML package that reads files or runs code")
    last = parts[-1]
    if full.startswith(_CLASS_PREFIXES) and _is_class_name(last):
        return Judgement(Verdict.SAFE, "class from an allowed ML package")
    if full.startswith(_RECONSTRUCTOR_PREFIXES) and _RECONSTRUCTOR.search(last):
        return Judgement(Verdict.SAFE, "reconstructor from an allowed ML package")
    if full.startswith("scipy.sparse.") and _SCIPY_SPARSE.match(last):
        return Judgement(Verdict.SAFE, "scipy sparse matrix")
    if module == "numpy" and re.fullmatch(r"(?:u?int|float|complex|bool_?|str_|bytes_|"
                                         r"object_|datetime64|timedelta64|void|half|"
                                         r"single|double|longdouble|longlong|ulonglong|"
                                         r"intc|uintc|intp|uintp|short|ushort|byte|ubyte|"
                                         r"csingle|cdouble|clongdouble)\d*", last):
        return Judgement(Verdict.SAFE, "numpy scalar type")
    if module == "numpy.dtypes" and last.endswith("DType"):
        return Judgement(Verdict.SAFE, "numpy dtype class")
    return Judgement(Verdict.UNKNOWN, "not on the allowlist of ML pickle contents")
