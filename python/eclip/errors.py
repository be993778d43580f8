"""Errors of the eclip package: every failed C call raises EclipError with the library's status
code and its message (eclip_last_error() of the calling thread)."""

# enum eclip_status (include/eclip/eclip_c.h)
OK = 0
E_INVALID_ARGUMENT = 1
E_CAPACITY = 2
E_PARSE = 3
E_BACKEND = 4
E_UNAVAILABLE = 5
E_INTERNAL = 99

STATUS_NAMES = {OK: "ok", E_INVALID_ARGUMENT: "invalid_argument", E_CAPACITY: "capacity", E_PARSE: "parse",
                E_BACKEND: "backend", E_UNAVAILABLE: "unavailable", E_INTERNAL: "internal"}


class EclipError(RuntimeError):
    """A failed eclip call. code: the eclip_status value; status: its name ("capacity", ...);
    message: the library's message for the call; what: the call that failed."""

    def __init__(self, code, message, what=""):
        self.code = int(code)
        self.status = STATUS_NAMES.get(self.code, f"status {self.code}")
        self.message = message
        self.what = what
        prefix = f"{what}: " if what else ""
        super().__init__(f"{prefix}{message} [{self.status}]")


class LibraryError(EclipError):
    """libeclip_c cannot be used: not found, not loadable, or of another C ABI version. The message
    says what was tried and found."""

    def __init__(self, message):
        super().__init__(E_UNAVAILABLE, message, "libeclip_c")


class AbiVersionError(LibraryError):
    """The library found speaks another C ABI version than this package."""

    def __init__(self, message, found, expected):
        self.found = found
        self.expected = expected
        super().__init__(message)
