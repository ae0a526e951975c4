print("flowsentry")
