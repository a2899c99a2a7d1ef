"""Account and login-session repositories."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tryst.domain.accounts import Account, AgeAssurance, Role
from tryst.ids import AccountId
from tryst.ports import AuthSession
from tryst.storage.tables import accounts, auth_sessions


def _account(row: Any) -> Account:
    return Account(
        id=AccountId(row.id), username=row.username, role=Role(row.role),
        created_at=row.created_at,
        age=AgeAssurance(result=row.age_result, method=row.age_method,
                         attested_at=row.age_attested_at),
    )


class SqlAccounts:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, account: Account, password_hash: str) -> None:
        await self._c.execute(insert(accounts).values(
            id=account.id, username=account.username, role=account.role.value,
            password_hash=password_hash, age_result=account.age.result,
            age_method=account.age.method, age_attested_at=account.age.attested_at,
            created_at=account.created_at,
        ))

    async def get(self, account_id: AccountId) -> Account | None:
        row = (await self._c.execute(select(accounts).where(accounts.c.id == account_id))).first()
        return _account(row) if row else None

    async def by_username(self, username: str) -> tuple[Account, str] | None:
        row = (await self._c.execute(
            select(accounts).where(accounts.c.username == username))).first()
        return (_account(row), row.password_hash) if row else None

    async def password_hash(self, account_id: AccountId) -> str:
        value = await self._c.scalar(
            select(accounts.c.password_hash).where(accounts.c.id == account_id))
        return str(value)

    async def set_password(self, account_id: AccountId, password_hash: str) -> None:
        await self._c.execute(update(accounts).where(accounts.c.id == account_id)
                              .values(password_hash=password_hash))

    async def set_role(self, account_id: AccountId, role: Role) -> None:
        await self._c.execute(update(accounts).where(accounts.c.id == account_id)
                              .values(role=role.value))

    async def delete(self, account_id: AccountId) -> None:
        await self._c.execute(delete(accounts).where(accounts.c.id == account_id))


def _session(row: Any) -> AuthSession:
    return AuthSession(token_hash=row.token_hash, account_id=AccountId(row.account_id),
                       created_at=row.created_at, expires_at=row.expires_at, client=row.client)


class SqlAuthSessions:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, session: AuthSession) -> None:
        await self._c.execute(insert(auth_sessions).values(
            token_hash=session.token_hash, account_id=session.account_id,
            client=session.client, created_at=session.created_at,
            expires_at=session.expires_at))

    async def get(self, token_hash: str) -> AuthSession | None:
        row = (await self._c.execute(select(auth_sessions)
                                     .where(auth_sessions.c.token_hash == token_hash))).first()
        return _session(row) if row else None

    async def revoke(self, token_hash: str) -> None:
        await self._c.execute(delete(auth_sessions)
                              .where(auth_sessions.c.token_hash == token_hash))

    async def revoke_all_except(self, account_id: AccountId, keep: str | None) -> int:
        stmt = delete(auth_sessions).where(auth_sessions.c.account_id == account_id)
        if keep is not None:
            stmt = stmt.where(auth_sessions.c.token_hash != keep)
        result = await self._c.execute(stmt)
        return int(result.rowcount)

    async def for_account(self, account_id: AccountId) -> list[AuthSession]:
        rows = await self._c.execute(select(auth_sessions)
                                     .where(auth_sessions.c.account_id == account_id)
                                     .order_by(auth_sessions.c.created_at))
        return [_session(r) for r in rows]
