from django import forms

from .models import DAY_NAMES, Schedule

DAY_CHOICES = [(index, name) for index, name in enumerate(DAY_NAMES)]


class ScheduleForm(forms.ModelForm):
    time = forms.TimeField(
        input_formats=["%H:%M"], widget=forms.TimeInput(format="%H:%M", attrs={"type": "time", "required": True}),
        help_text="Server time zone.",
    )
    days = forms.TypedMultipleChoiceField(
        choices=DAY_CHOICES, coerce=int, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one day."},
    )

    class Meta:
        model = Schedule
        fields = ["time", "days", "enabled"]

    def clean_days(self):
        return sorted(set(self.cleaned_data["days"]))
