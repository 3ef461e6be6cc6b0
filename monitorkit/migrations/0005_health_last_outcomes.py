from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("monitorkit", "0004_transition_deliveries"),
    ]

    operations = [
        migrations.AddField(
            model_name="commandhealth",
            name="last_success",
            field=models.DateTimeField(
                blank=True,
                help_text="When the newest FINISHED run ended (kept past retention).",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="commandhealth",
            name="last_failure",
            field=models.DateTimeField(
                blank=True, help_text="When the newest FAILED or SYSTEM_KILL run ended.", null=True
            ),
        ),
        migrations.AddField(
            model_name="commandhealth",
            name="last_completion",
            field=models.DateTimeField(
                blank=True, help_text="When the newest run with an outcome ended.", null=True
            ),
        ),
    ]
