"""Users and provinces: the rules for adding and changing them, shared by ``simopt users`` and
the administrator's page, so that both refuse the same things with the same words.

An :class:`AccountError` carries a catalogue key, its fields and the form field it belongs to:
the web shows it beside that field in the user's language, the CLI prints it in English.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from simopt.web import sessions
from simopt.web.models import LANGS, ROLES, Province, User, UserProvince
from simopt.web.passwords import hash_password

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
PROVINCE_NAME_MAX = 128


class AccountError(ValueError):
    def __init__(self, key: str, field: str, **fields: Any) -> None:
        from simopt.reporting.i18n import messages

        super().__init__(messages("en")(key, **fields) if fields else messages("en")(key))
        self.key = key
        self.field = field
        self.fields = fields


def normalise_username(raw: str) -> str:
    name = raw.strip().lower()
    if not USERNAME.fullmatch(name):
        raise AccountError("web.account.username_invalid", "username")
    return name


def check_password(password: str, min_length: int) -> str:
    if len(password) < min_length:
        raise AccountError("web.account.password_short", "password", min=min_length)
    if len(password) > 1024 or any(unicodedata.category(c) == "Cc" for c in password):
        raise AccountError("web.account.password_invalid", "password")
    return password


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError("web.account.role_invalid", "role", roles=", ".join(ROLES))
    return role


def check_language(lang: str) -> str:
    if lang not in LANGS:
        raise AccountError("web.account.language_invalid", "language")
    return lang


def province_slug(name: str) -> str:
    """The id of a province in URLs and run folders: "Tây Ninh" → ``tay_ninh``, "Đắk Lắk" →
    ``dak_lak``; the scenario files' names."""
    text = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    ascii_text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text).strip("_")


def clean_province_name(raw: str) -> str:
    name = " ".join(unicodedata.normalize("NFC", raw).split())
    slug = province_slug(name)
    if not name or not slug or len(name) > PROVINCE_NAME_MAX or not slug[0].isalpha():
        raise AccountError("web.account.province_invalid", "provinces", name=raw[:40])
    return name


def find_province(db: Session, name_or_slug: str) -> Province | None:
    slug = province_slug(name_or_slug)
    return db.scalar(select(Province).where(Province.slug == slug))


def get_or_create_province(db: Session, raw_name: str) -> Province:
    """The province of that name or slug ("Long An", "long_an"); made when there is none."""
    name = clean_province_name(raw_name)
    found = find_province(db, name)
    if found is not None:
        return found
    province = Province(slug=province_slug(name), name=name)
    db.add(province)
    db.flush()
    return province


def create_user(
    db: Session,
    username: str,
    password: str,
    role: str,
    *,
    language: str = "vi",
    provinces: Iterable[str] = (),
    min_password_length: int = 10,
) -> User:
    """A new active user with those provinces (made when new); committed."""
    name = normalise_username(username)
    check_password(password, min_password_length)
    check_role(role)
    check_language(language)
    if db.scalar(select(User).where(func.lower(User.username) == name)) is not None:
        raise AccountError("web.account.username_taken", "username", username=name)
    wanted = [get_or_create_province(db, p) for p in provinces if p.strip()]
    user = User(
        username=name,
        password_hash=hash_password(password),
        role=role,
        language=language,
        active=True,
    )
    db.add(user)
    db.flush()
    for province in {p.id: p for p in wanted}.values():
        db.add(UserProvince(user_id=user.id, province_id=province.id))
    db.commit()
    return user


def set_active(db: Session, user: User, active: bool) -> None:
    """Deactivate (ending every session at once) or reactivate a user; committed."""
    user.active = active
    db.commit()
    if not active:
        sessions.end_all(db, user.id)


def set_language(db: Session, user: User, lang: str) -> None:
    user.language = check_language(lang)
    db.commit()


def list_users(db: Session) -> Sequence[User]:
    return db.scalars(select(User).order_by(User.username)).all()


def count_users(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(User)) or 0)
