from django.db import models


class RateLimitWindow(models.Model):
    """How often one client (`bucket`) did one thing in one fixed window of time.

    The site's only table of its own: every configuration (SQLite or PostgreSQL, file cache or
    Redis) has the database, and only the database counts atomically across workers and
    machines for a whole day, which the file cache cannot.
    """

    bucket = models.CharField(max_length=200)
    window_start = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-window_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["bucket", "window_start"],
                name="one_count_per_bucket_and_window",
                violation_error_message="This window is already being counted.",
            )
        ]

    def __str__(self):
        return f"{self.bucket}: {self.hits} since {self.window_start:%Y-%m-%d %H:%M:%S}"
