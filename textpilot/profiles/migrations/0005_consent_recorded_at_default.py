"""Consent precedence: mark the evidence textpilot observed itself, and recompute the status
of every profile the old "newest claimed time wins" rule could have got wrong (an observed
opt-out in its trail, or a status time in the future)."""
import django.utils.timezone
from django.db import migrations, models
from django.db.models import Q

OBSERVED_SOURCES = Q(source="inbound_keyword") | Q(source__startswith="carrier_opt_out:")


def recompute(apps, schema_editor):
    from textpilot.profiles import consent

    ConsentEvent = apps.get_model("profiles", "ConsentEvent")
    Profile = apps.get_model("profiles", "Profile")
    ConsentEvent.objects.filter(OBSERVED_SOURCES).update(basis="observed")
    now = django.utils.timezone.now()
    ids = set(ConsentEvent.objects.filter(channel="sms", basis="observed").values_list("profile_id", flat=True))
    ids |= set(Profile.objects.filter(sms_status_at__gt=now).values_list("pk", flat=True))
    ids = sorted(ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        trails = {pk: [] for pk in chunk}
        for event in ConsentEvent.objects.filter(profile_id__in=chunk, channel="sms").order_by("recorded_at", "id"):
            trails[event.profile_id].append(consent.change_of(event))
        for pk, changes in trails.items():
            state = consent.fold(changes)
            Profile.objects.filter(pk=pk).update(
                sms_status=state.status, sms_status_at=state.status_at, sms_opted_out_at=state.opted_out_at)


def forget(apps, schema_editor):
    apps.get_model("profiles", "ConsentEvent").objects.update(basis="reported")


class Migration(migrations.Migration):

    dependencies = [
        ('profiles', '0004_consent_basis_region_opted_out_at'),
    ]

    operations = [
        migrations.AlterField(
            model_name='consentevent',
            name='recorded_at',
            field=models.DateTimeField(default=django.utils.timezone.now, help_text='server time; consent precedence reads it'),
        ),
        migrations.RunPython(recompute, forget),
    ]
