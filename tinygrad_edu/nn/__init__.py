"""Neural-network building blocks with PyTorch's names: ``Module``, ``Linear``, activations,
``Dropout``, ``BatchNorm1d``, ``Embedding``, losses; ``functional``, ``init`` and ``utils``
(gradient clipping)."""
from . import functional, init, utils
from .activation import (CELU, ELU, GELU, GLU, SELU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh,
                         LeakyReLU, LogSigmoid, LogSoftmax, Mish, PReLU, ReLU, ReLU6, Sigmoid, SiLU,
                         Softmax, Softplus, Softshrink, Softsign, Tanh, Tanhshrink)
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .dropout import Dropout, Dropout1d, Dropout2d
from .embedding import Embedding
from .flatten import Flatten, Unflatten
from .linear import Identity, Linear
from .loss import (BCELoss, BCEWithLogitsLoss, CosineEmbeddingLoss, CosineSimilarity, CrossEntropyLoss,
                   GaussianNLLLoss, HuberLoss, KLDivLoss, L1Loss, MarginRankingLoss, MSELoss,
                   NLLLoss, PairwiseDistance, PoissonNLLLoss, SmoothL1Loss, SoftMarginLoss,
                   TripletMarginLoss)
from .module import IncompatibleKeys, Module
from .normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, GroupNorm, InstanceNorm1d,
                            InstanceNorm2d, LayerNorm, RMSNorm)
from .parameter import Parameter

__all__ = [
    "Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "ParameterList",
    "ParameterDict", "IncompatibleKeys", "functional", "init", "utils",
    "Linear", "Identity", "Flatten", "Unflatten",
    "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax",
    "GELU", "SiLU", "Softplus", "ELU", "SELU", "CELU", "Mish", "Hardtanh", "ReLU6", "Hardswish",
    "Hardsigmoid", "LogSigmoid", "Softsign", "Tanhshrink", "Softshrink", "Hardshrink", "GLU", "PReLU",
    "Dropout", "Dropout1d", "Dropout2d", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm",
    "GroupNorm", "RMSNorm", "InstanceNorm1d", "InstanceNorm2d", "Embedding",
    "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss",
    "KLDivLoss", "HuberLoss", "SmoothL1Loss", "SoftMarginLoss", "MarginRankingLoss",
    "CosineEmbeddingLoss", "TripletMarginLoss", "PoissonNLLLoss", "GaussianNLLLoss",
    "PairwiseDistance", "CosineSimilarity",
]

# Layer families in files of their own plug in here: each lists its classes in ``__all__``.
_LAYER_FAMILIES = ("conv", "pooling", "padding", "recurrent", "attention", "transformer",
                   "upsampling")


def _export_layer_families():
    import importlib

    for fam in _LAYER_FAMILIES:
        try:
            mod = importlib.import_module(f"{__name__}.{fam}")
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{fam}":
                raise
            continue
        for name in getattr(mod, "__all__", ()):
            globals()[name] = getattr(mod, name)
            if name not in __all__:
                __all__.append(name)


_export_layer_families()
