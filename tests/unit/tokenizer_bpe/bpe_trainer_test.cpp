// being written by the trainer author
