"""Acting on devices: probe one, run commands or reboots on a selection (planned, then audited), read the audit log.

The CLI asks for confirmation and renders; everything between the selection and the audit log's last write is here.
"""
