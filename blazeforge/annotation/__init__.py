"""Annotation: labels in and out of other tools (`interchange`), Label Studio run for real from its
own venv (`labelstudio`), and the `blazeforge annotate` verb's actions (`actions`)."""
