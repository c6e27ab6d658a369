"""sc.exe's usage texts (printed, with exit code 1639, for any syntax error)."""

from __future__ import annotations

GENERAL = """DESCRIPTION:
        SC is a command line program used for communicating with the
        Service Control Manager and services.
USAGE:
        sc <server> [command] [service name] <option1> <option2>...


        The option <server> has the form "\\\\ServerName"
        Further help on commands can be obtained by typing: "sc [command]"
        Commands:
          query-----------Queries the status for a service, or
                          enumerates the status for types of services.
          queryex---------Queries the extended status for a service, or
                          enumerates the status for types of services.
          start-----------Starts a service.
          pause-----------Sends a PAUSE control request to a service.
          interrogate-----Sends an INTERROGATE control request to a service.
          continue--------Sends a CONTINUE control request to a service.
          stop------------Sends a STOP request to a service.
          config----------Changes the configuration of a service (persistent).
          description-----Changes the description of a service.
          failure---------Changes the actions taken by a service upon failure.
          failureflag-----Changes the failure actions flag of a service.
          qc--------------Queries the configuration information for a service.
          qdescription----Queries the description for a service.
          qfailure--------Queries the actions taken by a service upon failure.
          qfailureflag----Queries the failure actions flag of a service.
          delete----------Deletes a service (from the registry).
          create----------Creates a service. (adds it to the registry).
          control---------Sends a control to a service.
          sdshow----------Displays a service's security descriptor.
          sdset-----------Sets a service's security descriptor.
          GetDisplayName--Gets the DisplayName for a service.
          GetKeyName------Gets the ServiceKeyName for a service.
          EnumDepend------Enumerates Service Dependencies.

        svcctl also has: list, status, serve, demo, completion (svcctl --help).
"""

_VERB: dict[str, tuple[str, str]] = {
    "query": ("Obtains and displays information about the specified service, driver, type of service, "
              "or type of driver.",
              "sc <server> query [service name] <type= service|driver|all> <state= active|inactive|all> "
              "<bufsize= N> <ri= N> <group= G>"),
    "queryex": ("Obtains and displays extended information about the specified service, driver, type of "
                "service, or type of driver.",
                "sc <server> queryex [service name] <type= ...> <state= ...> <bufsize= N> <ri= N> <group= G>"),
    "start": ("Starts a service running.", "sc <server> start [service name] <arg1> <arg2> ..."),
    "stop": ("Sends a STOP control request to a service.",
             "sc <server> stop [service name] [--with-dependents]\n"
             "            --with-dependents (svcctl): stop the running dependents first, in reverse start order"),
    "pause": ("Sends a PAUSE control request to a service.", "sc <server> pause [service name]"),
    "continue": ("Sends a CONTINUE control request to a service.", "sc <server> continue [service name]"),
    "interrogate": ("Sends an INTERROGATE control request to a service.",
                    "sc <server> interrogate [service name]"),
    "control": ("Sends a CONTROL code to a service.",
                "sc <server> control [service name] <value>\n"
                "            <value> = user-defined control code (128-255)\n"
                "            <value> = <paramchange|netbindadd|netbindremove|netbindenable|netbinddisable>"),
    "create": ("Creates a service entry in the registry and Service Database.",
               "sc <server> create [service name] [binPath= ] <option1> <option2>...\n\n"
               "OPTIONS:\n"
               "NOTE: The option name includes the equal sign.\n"
               "      A space is required between the equal sign and the value.\n"
               " type= <own|share|interact|kernel|filesys|rec>\n"
               "       (default = own)\n"
               " start= <boot|system|auto|demand|disabled|delayed-auto>\n"
               "       (default = demand)\n"
               " error= <normal|severe|critical|ignore>\n"
               "       (default = normal)\n"
               " binPath= <BinaryPathName>\n"
               " group= <LoadOrderGroup>\n"
               " tag= <yes|no>\n"
               " depend= <Dependencies(separated by / (forward slash))>\n"
               " obj= <AccountName|ObjectName>\n"
               "       (default = LocalSystem)\n"
               " DisplayName= <display name>\n"
               " password= <password>"),
    "config": ("Modifies a service entry in the registry and Service Database.",
               "sc <server> config [service name] <option1> <option2>...\n"
               "   (options as for create: type= start= error= binPath= group= tag= depend= obj= "
               "DisplayName= password=)"),
    "description": ("Sets the description string for a service.",
                    "sc <server> description [service name] [description]"),
    "failure": ("Changes the actions upon failure",
                "sc <server> failure [service name] <option1> <option2>...\n\n"
                "OPTIONS:\n"
                "        reset=   <Length of period of no failures (in seconds)\n"
                "                  after which to reset the failure count to 0 (may be INFINITE)>\n"
                "                  (Must be used in conjunction with actions= )\n"
                "        reboot=  <Message broadcast before rebooting on failure>\n"
                "        command= <Command line to be run on failure>\n"
                "        actions= <Failure actions and their delay time (in milliseconds),\n"
                "                  separated by / (forward slash) -- e.g., run/5000/reboot/800\n"
                "                  Valid actions are <run|restart|reboot> >\n"
                "                  (Must be used in conjunction with the reset= option)"),
    "failureflag": ("Changes the failure actions flag setting of a service.",
                    "sc <server> failureflag [service name] [flag]\n"
                    "            flag = 0 or 1 (default = 0)"),
    "qc": ("Queries the configuration information for a service.", "sc <server> qc [service name] <bufsize>"),
    "qdescription": ("Retrieves the description string of a service.",
                     "sc <server> qdescription [service name] <bufsize>"),
    "qfailure": ("Retrieves the actions performed on service failure.",
                 "sc <server> qfailure [service name] <bufsize>"),
    "qfailureflag": ("Retrieves the failure actions flag setting of a service.",
                     "sc <server> qfailureflag [service name]"),
    "delete": ("Deletes a service entry from the registry.\n"
               "        If the service is running, or another process has an\n"
               "        open handle to the service, the service is simply marked\n"
               "        for deletion.",
               "sc <server> delete [service name]"),
    "getdisplayname": ("Gets the display name associated with a particular service",
                       "sc <server> getdisplayname <service key name> <bufsize>"),
    "getkeyname": ("Gets the key name associated with a particular service, using the display name as input",
                   "sc <server> getkeyname <service display name> <bufsize>"),
    "enumdepend": ("Enumerates the Services that are dependent on this one",
                   "sc <server> enumdepend <service name> <bufsize>"),
    "sdshow": ("Displays a service's security descriptor in SDDL format.",
               "sc <server> sdshow <service name>"),
    "sdset": ("Sets a service's Security Descriptor.",
              "sc <server> sdset <service name> <service security descriptor in SDDL format>"),
}


def usage_for(verb: str | None) -> str:
    if verb is None or verb not in _VERB:
        return GENERAL
    description, usage = _VERB[verb]
    return f"DESCRIPTION:\n        {description}\nUSAGE:\n        {usage}\n"
