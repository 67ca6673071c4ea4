"""A service's persistent volumes (a model cache): a PersistentVolumeClaim in Kubernetes, a named volume in compose."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from stackgen.spec.kube import K8sName, Size, Subdomain
from stackgen.spec.types import StrictModel, clean_folder

# Folders stackgen mounts itself: /tmp (the read-only root's scratch space) and /dev/shm (shm_size).
RESERVED_MOUNTS = {"/tmp": "stackgen mounts an emptyDir there (the root filesystem is read-only)",
                   "/dev/shm": "set services[].shm_size instead"}


class Volume(StrictModel):
    """Storage that outlives the container: pods share it through one claim, compose through one named volume."""

    name: Annotated[K8sName, Field(max_length=40, description="the volume's name; the claim and the compose volume are "
                                                              "named <service>-<name>")]
    mount: Annotated[str, AfterValidator(clean_folder)] = Field(
        description="absolute folder in the container (not /tmp, /dev/shm or the log folder)")
    size: Size = Field(description="the storage the claim requests, e.g. 50Gi")
    access_mode: Literal["ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany", "ReadOnlyMany"] = Field(
        "ReadWriteOnce", description="the claim's access mode: pods on several nodes need ReadWriteMany (NFS, EFS, "
                                     "Filestore) or ReadOnlyMany")
    storage_class: Subdomain | None = Field(
        None, description="the claim's storageClassName; unset: the cluster's default StorageClass")
    read_only: bool = Field(False, description="mount read-only (required for ReadOnlyMany)")

    @model_validator(mode="after")
    def _consistent(self) -> Volume:
        if why := RESERVED_MOUNTS.get(self.mount):
            raise ValueError(f"cannot mount a volume at {self.mount}: {why}")
        if self.access_mode == "ReadOnlyMany" and not self.read_only:
            raise ValueError("a ReadOnlyMany claim is mounted read_only: true")
        return self

    @property
    def single_node(self) -> bool:
        """Whether only one node (ReadWriteOnce) or one pod (ReadWriteOncePod) may mount the claim."""
        return self.access_mode in ("ReadWriteOnce", "ReadWriteOncePod")
