"""HTTP downloads with retries (requests + urllib3 Retry), shared by the IAM archives and the pretrained weights."""
from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry


def new_session(agent: str, retries: int = 5, backoff: float = 1.0) -> requests.Session:
    """A session whose GETs are retried with exponential backoff on connection errors and 5xx answers."""
    session = requests.Session()
    retry = Retry(total=retries, backoff_factor=backoff, status_forcelist=(500, 502, 503, 504),
                  allowed_methods=frozenset({"GET"}), raise_on_status=False)
    for scheme in ("http://", "https://"):
        session.mount(scheme, HTTPAdapter(max_retries=retry))
    session.headers.update({"User-Agent": f"handwriting-pipeline/{agent}", "Accept-Encoding": "identity"})
    return session
