"""The course's files as JupyterLab serves them for ``make lab``: the student's folder is theirs, the rest is read-only.

JupyterLab is rooted at the course (so that a notebook's links to ``../derivations/`` open the notes), which would let
a student change the course's own files: run and save a notebook in ``notebooks/`` and the next ``git pull`` refuses
to overwrite it. Here every path outside the writable folder (``work/`` by default) is served as read-only, which
JupyterLab shows on the document's tab, and a save, rename, delete or upload there is refused with a message that
says where to work instead.
"""

from pathlib import PurePosixPath

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from tornado import web
from traitlets import Unicode


class CourseContentsManager(AsyncLargeFileManager):
    """JupyterLab's files, writable only inside `writable_folder` (jupytext's pairing builds on this class)."""

    writable_folder = Unicode("work", config=True,
                              help="The folder, relative to the server's root, in which files may be changed.")

    def _writable(self, path: str) -> bool:
        return PurePosixPath(path.strip("/")).is_relative_to(PurePosixPath(self.writable_folder.strip("/")))

    def _refuse_outside(self, path: str) -> None:
        if not self._writable(path):
            raise web.HTTPError(403, f"{path} is one of the course's own files, which stay as they are (read-only): "
                                     f"work on your copy in {self.writable_folder}/ instead")

    def _mark(self, model: dict) -> dict:
        if not self._writable(model["path"]):
            model["writable"] = False
        if model["type"] == "directory" and isinstance(model.get("content"), list):
            for child in model["content"]:
                self._mark(child)
        return model

    async def get(self, path, content=True, type=None, format=None, **kwargs):
        return self._mark(await super().get(path, content=content, type=type, format=format, **kwargs))

    async def save(self, model, path=""):
        self._refuse_outside(path)
        return self._mark(await super().save(model, path))

    async def delete_file(self, path):
        self._refuse_outside(path)
        return await super().delete_file(path)

    async def rename_file(self, old_path, new_path):
        self._refuse_outside(old_path)
        self._refuse_outside(new_path)
        return await super().rename_file(old_path, new_path)

    async def restore_checkpoint(self, checkpoint_id, path):
        self._refuse_outside(path)
        return await super().restore_checkpoint(checkpoint_id, path)
