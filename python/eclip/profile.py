"""Profile: per model, each kernel (group)'s time at every partition size ("eclip.profile" JSON, as
`eclip profile` writes it). The planner's input: Plan.make(backend, profile, models, strategy)."""
import ctypes
import json
import os

from ._handle import Handle


class Profile(Handle):
    _destroy = "eclip_profile_destroy"

    def __init__(self, _private=None, lib=None):
        if _private is not True:
            raise TypeError("use Profile.from_json(text or dict) or Profile.from_file(path)")
        super().__init__(lib)
        self.source = None  # the file it was read from, if any

    @classmethod
    def from_json(cls, doc, lib=None):
        """doc: the JSON text, or a dict/list that is serialised first."""
        text = doc if isinstance(doc, str) else json.dumps(doc)
        p = cls(True, lib)
        p._lib.check(p._lib.eclip_profile_from_json(text.encode(), ctypes.byref(p._h)), "profile")
        return p

    @classmethod
    def from_file(cls, path, lib=None):
        p = cls(True, lib)
        p._lib.check(p._lib.eclip_profile_from_file(os.fsencode(path), ctypes.byref(p._h)), f"profile {path}")
        p.source = os.fspath(path)
        return p
