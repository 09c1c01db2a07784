"""The database itself refuses UPDATE and DELETE on the ledger (SQLite and PostgreSQL triggers)."""

from django.db import migrations

from trialdesk.apps.ledger import triggers


def create(apps, schema_editor):
    for statement in triggers.create_sql(schema_editor.connection.vendor):
        schema_editor.execute(statement)


def drop(apps, schema_editor):
    for statement in triggers.drop_sql(schema_editor.connection.vendor):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
