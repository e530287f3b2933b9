"""Prints each function's arm64 `bootstrap` size, raw and zipped as Lambda
receives it, from cargo lambda's output (target/lambda/<name>/bootstrap).

    python3 local/lambda_sizes.py health generate ...
"""

import io
import os
import sys
import zipfile

MB = 1024 * 1024


def main() -> None:
    root = os.path.join(os.path.dirname(__file__), "..", "target", "lambda")
    print(f"{'function':<12} {'binary':>10} {'zipped':>10}")
    for name in sys.argv[1:]:
        path = os.path.join(root, name, "bootstrap")
        if not os.path.exists(path):
            sys.exit(f"missing {path}: run cargo lambda build first")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
            z.write(path, "bootstrap")
        print(f"{name:<12} {os.path.getsize(path) / MB:>7.2f} MB {len(buf.getvalue()) / MB:>7.2f} MB")


if __name__ == "__main__":
    main()
