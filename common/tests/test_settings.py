from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import AnyHttpUrl, BaseModel, Field, model_validator

from copr_common.settings import (
    EXIT_CONFIG,
    ServiceSettings,
    SettingsError,
    exit_on_settings_error,
    load_service_settings,
    load_settings,
)


class RedisSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 6379


class ExampleSettings(ServiceSettings):
    frontend_url: AnyHttpUrl
    workers: int = 4
    debug: bool = False
    arches: list[str] = ["x86_64"]
    redis: RedisSettings = RedisSettings()


PREFIX = "COPR_TEST_"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text)
    return path


def test_defaults_file_and_environment_in_order(tmp_path: Path) -> None:
    path = write(
        tmp_path, 'frontend_url = "http://fe.example"\nworkers = 8\n[redis]\nport = 7000\n'
    )
    settings = load_settings(
        ExampleSettings,
        PREFIX,
        file=path,
        environ={"COPR_TEST_WORKERS": "16", "COPR_TEST_REDIS__HOST": "10.0.0.1", "OTHER": "x"},
    )
    assert str(settings.frontend_url) == "http://fe.example/"
    assert settings.workers == 16  # environment beats file
    assert settings.redis == RedisSettings(host="10.0.0.1", port=7000)  # merged, not replaced
    assert settings.debug is False
    assert settings.arches == ["x86_64"]


def test_environment_only_with_json_lists() -> None:
    settings = load_settings(
        ExampleSettings,
        PREFIX,
        environ={
            "COPR_TEST_FRONTEND_URL": "http://127.0.0.1:5000",
            "COPR_TEST_ARCHES": '["x86_64", "aarch64"]',
            "COPR_TEST_DEBUG": "true",
        },
    )
    assert settings.arches == ["x86_64", "aarch64"]
    assert settings.debug is True


def test_overrides_win(tmp_path: Path) -> None:
    path = write(tmp_path, 'frontend_url = "http://fe.example"\nworkers = 8\n')
    settings = load_settings(
        ExampleSettings, PREFIX, file=path, environ={"COPR_TEST_WORKERS": "3"},
        overrides={"workers": 1},
    )  # fmt: skip
    assert settings.workers == 1


def test_settings_are_immutable() -> None:
    settings = load_settings(
        ExampleSettings, PREFIX, environ={"COPR_TEST_FRONTEND_URL": "http://x"}
    )
    with pytest.raises(ValueError, match="frozen"):
        settings.workers = 2  # type: ignore[misc]


def test_missing_value_names_the_setting_and_where_to_set_it(tmp_path: Path) -> None:
    path = write(tmp_path, "workers = 2\n")
    with pytest.raises(SettingsError) as error:
        load_settings(ExampleSettings, PREFIX, file=path, environ={})
    message = str(error.value)
    assert "'frontend_url' is required" in message
    assert str(path) in message
    assert "COPR_TEST_FRONTEND_URL" in message


def test_malformed_value_from_file_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, 'frontend_url = "http://x"\nworkers = "many"\n')
    with pytest.raises(SettingsError) as error:
        load_settings(ExampleSettings, PREFIX, file=path, environ={})
    assert error.value.problems == [
        f"'workers' (from file {path}): Input should be a valid integer, unable to parse "
        "string as an integer; got 'many'"
    ]


def test_malformed_value_from_environment_names_the_variable() -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(
            ExampleSettings, PREFIX,
            environ={"COPR_TEST_FRONTEND_URL": "not a url", "COPR_TEST_REDIS__PORT": "x"},
        )  # fmt: skip
    problems = error.value.problems
    assert len(problems) == 2
    assert problems[0].startswith(
        "'frontend_url' (from environment variable COPR_TEST_FRONTEND_URL)"
    )
    assert problems[1].startswith("'redis.port' (from environment variable COPR_TEST_REDIS__PORT)")


def test_unknown_keys_are_errors(tmp_path: Path) -> None:
    path = write(tmp_path, 'frontend_url = "http://x"\nwrokers = 3\n')
    with pytest.raises(SettingsError, match=r"'wrokers' \(from file .*\) is not a known setting"):
        load_settings(ExampleSettings, PREFIX, file=path, environ={})
    with pytest.raises(SettingsError, match="COPR_TEST_DEBGU"):
        load_settings(
            ExampleSettings, PREFIX, environ={"COPR_TEST_FRONTEND_URL": "http://x",
                                              "COPR_TEST_DEBGU": "1"},
        )  # fmt: skip


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(ExampleSettings, PREFIX, file=tmp_path / "nope.toml", environ={})


def test_file_that_is_not_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "frontend_url = \n")
    with pytest.raises(SettingsError, match=r"is not valid TOML.*line 1"):
        load_settings(ExampleSettings, PREFIX, file=path, environ={})


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot be read"):
        load_settings(ExampleSettings, PREFIX, file=tmp_path, environ={})


def test_bad_environment_name() -> None:
    with pytest.raises(SettingsError, match="COPR_TEST_REDIS__ is not a valid settings name"):
        load_settings(ExampleSettings, PREFIX, environ={"COPR_TEST_REDIS__": "1"})


class SecretSettings(ServiceSettings):
    backend_password: str = Field(min_length=12)


def test_a_rejected_secret_is_not_repeated() -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(SecretSettings, PREFIX, environ={"COPR_TEST_BACKEND_PASSWORD": "hunter2"})
    assert "hunter2" not in str(error.value)
    assert "'backend_password' (from environment variable COPR_TEST_BACKEND_PASSWORD)" in str(
        error.value
    )


class PairSettings(ServiceSettings):
    secret: str | None = None
    secret_file: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> PairSettings:
        if (self.secret is None) == (self.secret_file is None):
            raise ValueError("set exactly one of secret and secret_file")
        return self


def test_a_whole_model_error_is_reported() -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(PairSettings, PREFIX, environ={})
    assert error.value.problems == ["set exactly one of secret and secret_file"]


def test_service_file_is_the_option_else_the_config_variable_else_the_default(
    tmp_path: Path,
) -> None:
    option = tmp_path / "option.toml"
    option.write_text('frontend_url = "http://option.example"\n')
    from_env = tmp_path / "env.toml"
    from_env.write_text('frontend_url = "http://env.example"\n')
    default = tmp_path / "default.toml"
    default.write_text('frontend_url = "http://default.example"\n')
    environ = {"COPR_TEST_CONFIG": str(from_env)}

    def url(file: Path | None, env: dict[str, str]) -> str:
        loaded = load_service_settings(ExampleSettings, PREFIX, default, file, environ=env)
        return str(loaded.frontend_url)

    assert url(option, environ) == "http://option.example/"
    # COPR_TEST_CONFIG names the file; it is no setting ("config" is not a known key).
    assert url(None, environ) == "http://env.example/"
    assert url(None, {}) == "http://default.example/"
    default.unlink()
    with pytest.raises(SettingsError, match="'frontend_url' is required"):
        url(None, {})
    # A file named explicitly must exist, from the option or the variable alike.
    with pytest.raises(SettingsError, match="does not exist"):
        url(None, {"COPR_TEST_CONFIG": str(tmp_path / "missing.toml")})


def test_settings_error_exits_with_the_config_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        exit_on_settings_error("copr-test", SettingsError(["'workers' (from defaults): bad"]))
    assert stopped.value.code == EXIT_CONFIG
    assert (
        "copr-test: invalid settings:\n  - 'workers' (from defaults): bad"
        in capsys.readouterr().err
    )
