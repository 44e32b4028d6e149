# placeholder: written with the local model issue
