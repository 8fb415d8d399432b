"""The evaluation engine: metrics (NME, PCK, AUC, by group), predictors, and the reports found by
name (`evaluate fairness`: face landmarks by group; `evaluate iris_depth`: metric depth from the
iris). Each task's own evaluation lives with its family (`recipes/<family>/evaluate.py`).
"""
