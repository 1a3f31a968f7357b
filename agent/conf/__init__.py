"""The rack config: TOML in, a frozen and fully validated `RackConfig` out.

``load_config(path)`` raises `agent.errors.ConfigError` listing every problem, each
naming the file, the TOML path and the fix. Nothing here touches a device.
"""

from agent.conf.load import config_to_builtins, load_config, parse_config
from agent.conf.schema import RackConfig
from agent.conf.units import Duration, Secret

__all__ = ["Duration", "RackConfig", "Secret", "config_to_builtins", "load_config", "parse_config"]
