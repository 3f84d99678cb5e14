import django.db.models.deletion
from django.contrib.postgres.functions import RandomUUID
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="order",
            name="token",
            field=models.UUIDField(db_default=RandomUUID()),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["amount"], name="shop_order_amount_idx"),
        ),
        migrations.AddField(
            model_name="order",
            name="customer",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                to="shop.customer",
            ),
        ),
    ]
