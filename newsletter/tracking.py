"""Reports from the email provider (bounces, complaints, unsubscribes), through anymail."""


def webhook(request, provider):
    raise NotImplementedError
