"""Kubernetes value syntaxes the spec shares: object names, label keys and values, resource quantities.

The API server rejects a bad name or label key at `kubectl apply`, long after render; these types
reject it at the spec line instead, with the rule that was broken.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field

# A DNS-1123 label: most object names (Namespace, Service, volume and port names) and label-key names.
K8sName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]
LabelValue = Annotated[str, Field(pattern=r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$", max_length=63)]

_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_KEY_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")


def label_key(key: str) -> str:
    """A label or annotation key: an optional DNS-subdomain prefix (at most 253) and '/', then a name of at
    most 63 characters (alphanumerics, '-', '_', '.', starting and ending alphanumeric)."""
    prefix, slash, name = key.rpartition("/")
    if slash and (len(prefix) > 253 or not _SUBDOMAIN.fullmatch(prefix)):
        raise ValueError(f"{key!r}: the prefix before '/' must be a DNS subdomain (lower-case, at most 253 characters)")
    if len(name) > 63 or not _KEY_NAME.fullmatch(name):
        raise ValueError(f"{key!r}: the name part must be at most 63 characters of letters, digits, '-', '_', '.', "
                         "beginning and ending with a letter or digit")
    return key


def _subdomain(value: str) -> str:
    if len(value) > 253 or not _SUBDOMAIN.fullmatch(value):
        raise ValueError(f"{value!r} is not a DNS subdomain: lower-case letters, digits, '-' and '.', at most 253")
    return value


def _resource_name(value: str) -> str:
    """An extended resource name (`nvidia.com/gpu`, `amd.com/gpu`, `nvidia.com/mig-1g.10gb`): a domain prefix is
    required, and the kubernetes.io domains are reserved for native resources."""
    prefix, slash, _ = value.rpartition("/")
    label_key(value)
    if not slash:
        raise ValueError(f"{value!r}: an extended resource is named <domain>/<name>, such as nvidia.com/gpu")
    if prefix == "kubernetes.io" or prefix.endswith(".kubernetes.io"):
        raise ValueError(f"{value!r}: the kubernetes.io domain is reserved for native resources")
    return value


LabelKey = Annotated[str, Field(pattern=r"^([a-z0-9.-]+/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"),
                     AfterValidator(label_key)]
Subdomain = Annotated[str, AfterValidator(_subdomain)]
ExtendedResource = Annotated[str, Field(pattern=r"^[a-z0-9.-]+/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"),
                             AfterValidator(_resource_name)]

# Kubernetes resource quantities ("500m", "2", "8Gi"); a memory size takes no milli suffix.
Quantity = Annotated[str, Field(pattern=r"^\d+(\.\d+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$")]
_SIZE_SUFFIX = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
                "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_SIZE_RE = re.compile(r"^(\d+)(k|Ki|M|Mi|G|Gi|T|Ti)?$")


def quantity_bytes(value: str) -> int:
    """The number of bytes a memory quantity stands for ("8Gi" -> 8589934592); "500m" is a fraction, not bytes."""
    number, suffix = re.match(r"^([\d.]+)(\D*)$", value).groups()  # type: ignore[union-attr]
    if suffix == "m":
        return int(Decimal(number) / 1000)
    return int(Decimal(number) * _SIZE_SUFFIX[suffix])


def _size(value: str) -> str:
    if quantity_bytes(value) <= 0:
        raise ValueError(f"{value!r} is no space at all")
    return value


Size = Annotated[str, Field(pattern=_SIZE_RE.pattern, description="a whole number of bytes with an optional suffix: "
                                                                    "k, M, G, T (powers of 1000) or Ki, Mi, Gi, Ti"),
                 AfterValidator(_size)]
