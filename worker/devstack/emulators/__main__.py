"""`python -m worker.devstack.emulators --port 8090 --state-dir .stepwise`."""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from worker.devstack.emulators import create_emulator_app


def main() -> None:
    """Serve the emulators until interrupted."""
    parser = argparse.ArgumentParser(description="Stepwise partner emulators (development only)")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--state-dir", type=Path, default=None)
    args = parser.parse_args()
    uvicorn.run(create_emulator_app(args.state_dir), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
