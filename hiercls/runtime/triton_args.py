"""Reading a Python-backend model's arguments and config (Triton passes them as JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def parse_args(args: dict[str, str]) -> tuple[dict[str, Any], dict[str, str], Path]:
    """(model config, its string parameters, this version's directory)."""
    config = json.loads(args["model_config"])
    params = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
    version_dir = Path(args["model_repository"]) / args["model_version"]
    return config, params, version_dir


def output_dtypes(pb_utils, config: dict[str, Any]) -> dict[str, Any]:
    """numpy dtype of every output, by name, from the model's own config."""
    return {
        out["name"]: pb_utils.triton_string_to_numpy(
            pb_utils.get_output_config_by_name(config, out["name"])["data_type"]
        )
        for out in config["output"]
    }
