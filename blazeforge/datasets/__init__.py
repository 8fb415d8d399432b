"""The sample schema, dataset builders and source mixing."""
