"""Client side of keygen, used on the backend host: the private keys stay on keygen.

from copr_keygen_client import KeygenClient, load_client_settings

client = KeygenClient.from_settings(load_client_settings())
client.gen_key("alice#hello@copr.example.org")
client.sign_rpms(["/results/.../hello-1-1.noarch.rpm"], "alice#hello@copr.example.org")
pubkey = client.public_key("alice#hello@copr.example.org")
"""

from copr_keygen_client.api import (
    KeygenClient,
    KeygenError,
    SigningError,
    load_client_settings,
    sign_rpms,
)
from copr_keygen_client.settings import SignClientSettings

__all__ = [
    "KeygenClient",
    "KeygenError",
    "SignClientSettings",
    "SigningError",
    "load_client_settings",
    "sign_rpms",
]
