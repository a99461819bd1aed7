from django.shortcuts import render

from .models import Run
from .runs import active_run


def dashboard(request):
    return render(request, "prefetch/dashboard.html", {"active": active_run(), "recent": Run.objects.all()[:10]})
