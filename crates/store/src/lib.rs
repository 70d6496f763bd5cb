//! The one store interface over SQLite and PostgreSQL: schema, migrations, queries. The only crate with SQL.
