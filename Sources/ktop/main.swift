print("ktop")
