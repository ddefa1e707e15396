"""Helpers for dataset plugins: finding, downloading and reading data files
(:mod:`gankit.data.files`), and folders of image files decoded once into a cache
(:mod:`gankit.data.folder`).

Every reader turns a truncated or malformed file into a ``DataError`` naming the file;
the folder reader skips such files and reports them instead.
"""

from __future__ import annotations

from gankit.data.decode import (
    FITS,
    RESAMPLING,
    DecodeOptions,
    SkippedFile,
    decode_image,
    parse_colour,
)
from gankit.data.domains import LAYOUTS, Domain, Domains, open_domains, two_domain_layout
from gankit.data.files import (
    RemoteFile,
    fetch,
    find_data_file,
    missing_data_message,
    read_npz,
    read_pickle_file,
    read_pickle_members,
    user_cache_dir,
)
from gankit.data.folder import IMAGE_EXTENSIONS, FolderImages, open_folder

__all__ = [
    "RemoteFile",
    "find_data_file",
    "fetch",
    "missing_data_message",
    "read_npz",
    "read_pickle_members",
    "read_pickle_file",
    "user_cache_dir",
    "FITS",
    "IMAGE_EXTENSIONS",
    "RESAMPLING",
    "DecodeOptions",
    "FolderImages",
    "SkippedFile",
    "decode_image",
    "open_folder",
    "parse_colour",
    "LAYOUTS",
    "Domain",
    "Domains",
    "open_domains",
    "two_domain_layout",
]
