"""The fleet simulator: recorded devices (snmpsim .snmprec files) answering SNMP like real APs."""
