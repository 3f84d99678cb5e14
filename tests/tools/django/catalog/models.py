"""Models as of the last migration of the `catalog` app (the blocked rename)."""
from django.db import models


class Item(models.Model):
    label = models.CharField(max_length=100)
