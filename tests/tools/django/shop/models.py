"""Models as of the last migration of the `shop` app."""
from django.contrib.postgres.functions import RandomUUID
from django.db import models


class Customer(models.Model):
    name = models.CharField(max_length=100)


class Order(models.Model):
    amount = models.IntegerField()
    # A volatile database default: every existing row gets its own value.
    token = models.UUIDField(db_default=RandomUUID())
    customer = models.ForeignKey(Customer, null=True, on_delete=models.SET_NULL)

    class Meta:
        indexes = [models.Index(fields=["amount"], name="shop_order_amount_idx")]
