"""python3 -m eclip: which libeclip_c this package uses, and the devices it sees."""
import sys

from . import Backend, EclipError, __version__, load_library


def main():
    print(f"eclip package {__version__}")
    try:
        lib = load_library()
    except EclipError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"libeclip_c {lib.eclip_version().decode()} at {lib.path} (C ABI {lib.abi_version}, found via {lib.how})")
    for spec in sys.argv[1:] or ["sim", "cuda", "hip"]:
        try:
            with Backend(spec) as be:
                print(f"  {be!r}")
        except EclipError as e:
            print(f"  {spec}: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
