"""Repository: deployments and process definitions. Deploy a bundle (BPMN, DMN) once per
version, check it before anything is stored, activate or stage versions, diff two of them."""
from qihu.engine.repository.service import Repository

__all__ = ["Repository"]
