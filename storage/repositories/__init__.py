"""Repositories: the only place that knows how rows are queried and written.

One module per repository; flows receive them through a :class:`storage.uow.UnitOfWork`
(``uow.ideas``, ``uow.units``, …) and never write SQL or call ``commit`` themselves.
"""
