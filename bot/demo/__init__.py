"""The offline rehearsal (`occ-bot demo`) and the loopback stand-ins it runs against."""
