"""Models as of the last migration of the `ledger` app: a unique email and a foreign key,
both added to tables that already hold data (0002)."""
from django.db import models


class Team(models.Model):
    name = models.CharField(max_length=100)


class Member(models.Model):
    email = models.CharField(max_length=100, unique=True)
    team = models.ForeignKey(Team, on_delete=models.CASCADE)
