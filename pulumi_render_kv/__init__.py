"""Pulumi dynamic resources for Render Key Value."""
