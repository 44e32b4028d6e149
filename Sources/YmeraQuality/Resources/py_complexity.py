# placeholder: written with the quality issue
