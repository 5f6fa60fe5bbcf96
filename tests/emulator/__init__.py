"""Tests of the local Render emulator (pulumi_render_kv.emulator)."""
